import { describe, expect, it } from 'vitest';
import { get, makeBridge, makeParent, policy, startServer } from './helpers.ts';

describe('shared agent', () => {
  it('sequential sub-requests reuse one keep-alive connection', async () => {
    const srv = await startServer((_req, res) => res.end('ok'));
    const { bridge } = makeBridge();
    for (let i = 0; i < 20; i++) {
      const res = await bridge.send(makeParent({ requestId: `r${i}` }), policy([srv.host], { plugin: `p${i}` }), get(srv.url()));
      expect(res.ok).toBe(true);
    }
    await bridge.close();
    await srv.close();
    expect(srv.requests).toBe(20);
    // undici may open a second socket when the next request is dispatched in the same tick the
    // previous body ended; a client per call would open 20.
    expect(srv.connections).toBeLessThanOrEqual(2);
  });

  it('send after close is overloaded, not a rejection', async () => {
    const { bridge } = makeBridge();
    await bridge.close();
    expect(await bridge.send(makeParent(), policy(['127.0.0.1:*']), get('http://127.0.0.1:1/'))).toEqual({ ok: false, error: { tag: 'overloaded' } });
  });
});
