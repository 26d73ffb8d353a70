import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  childTraceparent,
  connectionTokens,
  isHopByHop,
  parseTraceparent,
  startTrace,
  stripHopByHop,
} from '../../runtime/subrequest/identity.ts';
import { get, makeBridge, makeParent, policy, startServer, text, type TestServer } from './helpers.ts';

describe('trace context helpers', () => {
  it('parses a valid traceparent and refuses malformed ones', () => {
    const v = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(parseTraceparent(v)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: '01' });
    expect(parseTraceparent(undefined)).toBeUndefined();
    expect(parseTraceparent('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBeUndefined();
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeUndefined();
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01')).toBeUndefined();
    expect(parseTraceparent('00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01')).toBeUndefined();
    expect(parseTraceparent(`${v}-extra`)).toBeUndefined();
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra')?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('childTraceparent keeps the trace id and flags and makes a new span id', () => {
    const parent = startTrace();
    const child = parseTraceparent(childTraceparent(parent));
    expect(child?.traceId).toBe(parent.traceId);
    expect(child?.flags).toBe(parent.flags);
    expect(child?.spanId).not.toBe(parent.spanId);
    expect(startTrace().traceId).not.toBe(parent.traceId);
  });

  it('knows the hop-by-hop headers, including the ones Connection lists', () => {
    for (const h of ['Connection', 'keep-alive', 'TE', 'trailer', 'Transfer-Encoding', 'upgrade', 'Proxy-Authorization', 'proxy-foo']) {
      expect(isHopByHop(h)).toBe(true);
    }
    expect(isHopByHop('content-type')).toBe(false);
    expect([...connectionTokens([['Connection', 'close, X-Foo'], ['connection', 'x-bar']])]).toEqual(['close', 'x-foo', 'x-bar']);
    expect(stripHopByHop([['Connection', 'x-foo'], ['X-Foo', '1'], ['x-keep', '2'], ['TE', 'trailers']])).toEqual([['x-keep', '2']]);
  });
});

describe('identity headers on the wire', () => {
  let echo: TestServer;
  beforeAll(async () => {
    echo = await startServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.headers));
    });
  });
  afterAll(() => echo.close());

  it('the callee receives the host-owned identity; guest forgeries of each (any case) are replaced', async () => {
    const { bridge } = makeBridge();
    const parent = makeParent({ requestId: 'rid-42', attempt: 3, depth: 2 });
    const res = await bridge.send(parent, policy([echo.host]), get(echo.url('/echo'), {
      headers: [
        ['X-Request-Id', 'forged'],
        ['x-request-id', 'forged-2'],
        ['X-PROCESSOR-ATTEMPT', '99'],
        ['TraceParent', '00-11111111111111111111111111111111-2222222222222222-01'],
        ['X-Praxis-Depth', '0'],
        ['Host', 'evil.example'],
        ['x-custom', 'kept'],
      ],
    }));
    await bridge.close();
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const seen = JSON.parse(text(res.value.body)) as Record<string, string>;
    expect(seen['x-request-id']).toBe('rid-42');
    expect(seen['x-processor-attempt']).toBe('3');
    expect(seen['x-praxis-depth']).toBe('3');
    const tp = parseTraceparent(seen['traceparent']);
    expect(tp?.traceId).toBe(parent.traceparent.traceId);
    expect(tp?.spanId).not.toBe(parent.traceparent.spanId);
    expect(seen['host']).toBe(echo.host);
    expect(seen['x-custom']).toBe('kept');
  });

  it('strips hop-by-hop headers from the guest request', async () => {
    const { bridge } = makeBridge();
    const res = await bridge.send(makeParent(), policy([echo.host]), get(echo.url(), {
      method: 'POST',
      body: new TextEncoder().encode('hello'),
      headers: [
        ['Connection', 'X-Secret, close'],
        ['X-Secret', 'leak'],
        ['Keep-Alive', 'timeout=100'],
        ['TE', 'trailers'],
        ['Transfer-Encoding', 'chunked'],
        ['Upgrade', 'websocket'],
        ['Proxy-Authorization', 'Basic Zm9vOmJhcg=='],
        ['Trailer', 'x-t'],
        ['Content-Length', '999'],
      ],
    }));
    await bridge.close();
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const seen = JSON.parse(text(res.value.body)) as Record<string, string>;
    for (const h of ['x-secret', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'trailer']) {
      expect(seen[h], h).toBeUndefined();
    }
    expect(seen['connection'] ?? '').not.toMatch(/x-secret|close/i);
    expect(seen['content-length']).toBe('5');
  });

  it('strips hop-by-hop headers from the response handed back', async () => {
    const srv = await startServer((_req, res) => {
      res.setHeader('Connection', 'keep-alive, X-Internal');
      res.setHeader('X-Internal', 'secret');
      res.setHeader('Keep-Alive', 'timeout=5');
      res.setHeader('Proxy-Authenticate', 'Basic');
      res.setHeader('Trailer', 'x-t');
      res.setHeader('Upgrade', 'h2c');
      res.setHeader('X-Kept', 'yes');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.write('chunk'); // chunked: transfer-encoding on the wire
      res.addTrailers({ 'x-t': '1' });
      res.end();
    });
    const { bridge } = makeBridge();
    const res = await bridge.send(makeParent(), policy([srv.host]), get(srv.url()));
    await bridge.close();
    await srv.close();
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const names = res.value.headers.map(([n]) => n);
    for (const h of ['connection', 'x-internal', 'keep-alive', 'proxy-authenticate', 'trailer', 'transfer-encoding', 'upgrade']) {
      expect(names, h).not.toContain(h);
    }
    expect(res.value.headers).toContainEqual(['x-kept', 'yes']);
    expect(res.value.headers.filter(([n]) => n === 'set-cookie')).toEqual([['set-cookie', 'a=1'], ['set-cookie', 'b=2']]);
    expect(text(res.value.body)).toBe('chunk');
  });
});
