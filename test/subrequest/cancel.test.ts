import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, makeBridge, makeParent, policy, startServer, until, type TestServer } from './helpers.ts';

describe('cancellation', () => {
  let srv: TestServer;
  let closedBeforeFinish = 0;
  let arrived = 0;
  beforeAll(async () => {
    srv = await startServer((_req, res) => {
      arrived++;
      const t = setTimeout(() => res.end('late'), 5000);
      res.on('close', () => {
        clearTimeout(t);
        if (!res.writableFinished) closedBeforeFinish++;
      });
    });
  });
  afterAll(() => srv.close());

  it('parent abort cancels every in-flight sub-request of that parent; the callee sees them close', async () => {
    const { bridge } = makeBridge();
    const parent = makeParent();
    const other = makeParent({ requestId: 'req-2' });
    const p = policy([srv.host]);
    const mine = bridge.sendAll(parent, p, [get(srv.url('/1')), get(srv.url('/2')), get(srv.url('/3'))]);
    const theirs = bridge.send(other, p, get(srv.url('/other'), { timeoutMs: 400 }));
    await until(() => arrived === 4);
    const t0 = performance.now();
    parent.controller.abort();
    const results = await mine;
    expect(performance.now() - t0).toBeLessThan(100);
    expect(results).toEqual([0, 1, 2].map(() => ({ ok: false, error: { tag: 'cancelled' } })));
    await until(() => closedBeforeFinish >= 3);
    expect(bridge.inFlight()).toBe(1); // the other parent's call is untouched
    expect(await theirs).toEqual({ ok: false, error: { tag: 'timeout' } });
    await bridge.close();
  });

  it('an already aborted parent gets cancelled without a connection', async () => {
    const { bridge } = makeBridge();
    const parent = makeParent();
    parent.controller.abort();
    const before = srv.connections;
    const res = await bridge.send(parent, policy([srv.host]), get(srv.url()));
    await bridge.close();
    expect(res).toEqual({ ok: false, error: { tag: 'cancelled' } });
    expect(srv.connections).toBe(before);
  });

  it('abort while the response body streams is cancelled too', async () => {
    let bodyClosed = false;
    const dribble = await startServer((_req, res) => {
      res.write('first');
      const t = setInterval(() => res.write('.'), 20);
      res.on('close', () => {
        clearInterval(t);
        bodyClosed = !res.writableFinished;
      });
    });
    const { bridge } = makeBridge();
    const parent = makeParent();
    const pending = bridge.send(parent, policy([dribble.host]), get(dribble.url()));
    setTimeout(() => parent.controller.abort(), 100);
    expect(await pending).toEqual({ ok: false, error: { tag: 'cancelled' } });
    await until(() => bodyClosed);
    await bridge.close();
    await dribble.close();
  });
});
