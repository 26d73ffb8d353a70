import { describe, expect, it } from 'vitest';
import { get, makeBridge, makeParent, policy, startServer } from './helpers.ts';

describe('observability', () => {
  it('logs each sub-request once at info and hands the same record to the parent', async () => {
    const srv = await startServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(201).end('hello'));
    });
    const { bridge, logs } = makeBridge();
    const parent = makeParent({ requestId: 'rid-obs' });
    const p = policy([srv.host], { plugin: 'obs' });
    await bridge.send(parent, p, { method: 'POST', url: srv.url('/path/x?secret=token#frag'), headers: [], body: new Uint8Array(7) });
    await bridge.send(parent, p, get('http://u:pw@elsewhere.example/y?q=1'));
    await bridge.close();
    await srv.close();

    const lines = logs.lines.filter((l) => l['msg'] === 'subrequest');
    expect(lines).toHaveLength(2);
    const [ok, denied] = lines;
    expect(ok).toMatchObject({
      level: 30,
      requestId: 'rid-obs',
      plugin: 'obs',
      method: 'POST',
      url: `http://${srv.host}/path/x`,
      status: 201,
      bytesIn: 5,
      bytesOut: 7,
      outcome: 'ok',
    });
    expect(typeof ok?.['durationMs']).toBe('number');
    expect(denied).toMatchObject({ plugin: 'obs', url: 'http://elsewhere.example/y', outcome: 'denied', bytesIn: 0, bytesOut: 0 });
    expect(JSON.stringify(lines)).not.toMatch(/secret=token|pw@|q=1/);

    expect(parent.records).toHaveLength(2);
    expect(parent.records[0]).toMatchObject({ plugin: 'obs', method: 'POST', url: `http://${srv.host}/path/x`, status: 201, bytesIn: 5, bytesOut: 7, outcome: 'ok' });
    expect(parent.records[1]).toMatchObject({ outcome: 'denied' });
    expect(parent.records[0]?.durationMs).toBe(ok?.['durationMs']);
  });

  it('a throwing record callback does not make send reject', async () => {
    const srv = await startServer((_req, res) => res.end('x'));
    const { bridge } = makeBridge();
    const parent = { ...makeParent(), record: () => { throw new Error('boom'); } };
    const res = await bridge.send(parent, policy([srv.host]), get(srv.url()));
    await bridge.close();
    await srv.close();
    expect(res.ok).toBe(true);
  });
});
