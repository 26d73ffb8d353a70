import { describe, expect, it } from 'vitest';
import { get, makeBridge, makeParent, policy, startServer, text } from './helpers.ts';

describe('sendAll', () => {
  it('runs concurrently (3 x 200 ms in about 200 ms) and keeps input order, a denied one in place', async () => {
    const srv = await startServer((req, res) => {
      const delay = req.url === '/first' ? 250 : 200; // the first finishes last
      setTimeout(() => res.end(req.url), delay);
    });
    const { bridge } = makeBridge();
    const t0 = performance.now();
    const results = await bridge.sendAll(makeParent(), policy([srv.host]), [
      get(srv.url('/first')),
      get('http://not-allowed.example/'),
      get(srv.url('/second')),
      get(srv.url('/third')),
    ]);
    const ms = performance.now() - t0;
    await bridge.close();
    await srv.close();
    expect(ms).toBeLessThan(450);
    expect(results.map((r) => (r.ok ? text(r.value.body) : r.error.tag))).toEqual(['/first', 'denied', '/second', '/third']);
  });

  it('shares the caps: past the per-plugin cap the rest are overloaded, in place', async () => {
    const srv = await startServer((req, res) => setTimeout(() => res.end(req.url), 50));
    const { bridge } = makeBridge();
    const results = await bridge.sendAll(makeParent(), policy([srv.host], { maxInFlight: 2 }), [
      get(srv.url('/a')),
      get(srv.url('/b')),
      get(srv.url('/c')),
    ]);
    await bridge.close();
    await srv.close();
    expect(results.map((r) => (r.ok ? text(r.value.body) : r.error.tag))).toEqual(['/a', '/b', 'overloaded']);
  });
});
