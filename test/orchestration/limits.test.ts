/**
 * Gateway-level bounds on sub-requests: the global in-flight cap (429 before any filter runs),
 * client disconnect cancelling a filter's sub-request, and the call-depth limit (508) that stops
 * a filter whose sub-request loops back into the gateway.
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { fixturePath, startEchoUpstream, startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { accessLines, call, freePort, header, sleep, startGatewayOn, waitFor } from './support.ts';
import { useCleanup } from '../helpers/cleanup.ts';

const track = useCleanup();

function oneRoute(upstream: TestServer, calleePort: number, extra: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    plugins: {
      tk: { path: fixturePath('testkit'), config: { subrequestUrlHeader: 'x-sub-url' }, allowedHosts: [`127.0.0.1:${calleePort}`] },
    },
    upstreams: { echo: { endpoints: [upstream.url] } },
    routes: [{ name: 'all', match: { pathPrefix: '/' }, upstream: 'echo', filters: ['tk'], timeoutMs: 10_000 }],
    ...extra,
  };
}

describe('global sub-request cap', () => {
  it('answers 429 with Retry-After before any filter runs while the cap is full, then the held requests complete', async () => {
    const upstream = track(await startEchoUpstream());
    const callee = track(await startServer(async (_req, res) => { await sleep(800); res.end('held'); }));
    const gw: TestGateway = track(await startTestGateway(oneRoute(upstream, callee.port, { limits: { maxSubrequestsInFlight: 2 } })));

    const hdrs = { 'x-sub-url': `${callee.url}/hold` };
    const a = call(`${gw.url}/a`, { headers: { ...hdrs, 'x-request-id': 'sat-a' } });
    const b = call(`${gw.url}/b`, { headers: { ...hdrs, 'x-request-id': 'sat-b' } });
    await waitFor('both sub-requests in flight', () => callee.seen.length === 2 && gw.subrequestsInFlight() === 2);

    const c = await call(`${gw.url}/c`, { headers: { ...hdrs, 'x-request-id': 'sat-c' } });
    expect(c.status).toBe(429);
    expect(header(c, 'retry-after')).toBe('1');
    expect(JSON.parse(c.text)).toMatchObject({ error: { type: 'overloaded' } });
    expect(c.ms).toBeLessThan(400); // answered at once, not after the held calls

    const [ra, rb] = await Promise.all([a, b]);
    for (const r of [ra, rb]) {
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text).headers['x-sub-status']).toBe('200');
      expect(JSON.parse(r.text).headers['x-sub-body']).toBe('held');
    }
    // The third request's filter never ran: the callee saw two calls, the upstream two requests.
    expect(callee.seen).toHaveLength(2);
    expect(upstream.seen.map((s) => s.url).sort()).toEqual(['/a', '/b']);
    const cLine = await waitFor('access line of c', () => accessLines(gw).find((l) => l.id === 'sat-c'));
    expect(cLine.status).toBe(429);
    expect(cLine.subrequests).toBeUndefined();
    expect(cLine['filters']).toBeUndefined();

    // Once the slots are free, new requests are admitted again.
    const d = await call(`${gw.url}/d`);
    expect(d.status).toBe(200);
  });
});

describe('client disconnect during a sub-request', () => {
  it('cancels the in-flight sub-request, logs the request as cancelled, and keeps serving', async () => {
    const upstream = track(await startEchoUpstream());
    let closedUnanswered = false;
    const pending: ServerResponse[] = [];
    const callee = track(await startServer((_req, res) => {
      pending.push(res);
      res.on('close', () => { if (!res.writableEnded) closedUnanswered = true; });
      // never answers on its own
    }));
    const gw = track(await startTestGateway(oneRoute(upstream, callee.port)));

    const ac = new AbortController();
    const inflight = request(`${gw.url}/cancel-me`, {
      headers: { 'x-sub-url': `${callee.url}/slow`, 'x-request-id': 'cancel-1' }, signal: ac.signal,
    }).catch((err: unknown) => err);
    await waitFor('callee received the sub-request', () => callee.seen.length === 1);
    const abortedAt = Date.now();
    ac.abort();
    expect(await inflight).toBeInstanceOf(Error);

    await waitFor('callee saw its request close before answering', () => closedUnanswered, 2000);
    expect(Date.now() - abortedAt).toBeLessThan(1500); // not the 5 s sub-request timeout
    const line = await waitFor('access line', () => accessLines(gw).find((l) => l.id === 'cancel-1'));
    expect(line.status).toBe(499);
    expect(line.subrequests).toHaveLength(1);
    expect(line.subrequests![0]).toMatchObject({ plugin: 'tk', outcome: 'cancelled' });
    expect(upstream.seen).toHaveLength(0);
    expect(gw.subrequestsInFlight()).toBe(0);

    const next = await call(`${gw.url}/after`);
    expect(next.status).toBe(200);
    expect(JSON.parse(next.text).path).toBe('/after');
  });
});

describe('client disconnect while waiting for an instance', () => {
  it('logs the request as cancelled (499), not as a pool timeout', async () => {
    const upstream = track(await startEchoUpstream());
    const callee = track(await startServer(async (_req, res) => { await sleep(1500); res.end('late'); }));
    const cfg = oneRoute(upstream, callee.port);
    cfg.plugins!['tk']!.pool = { min: 1, max: 1, acquireTimeoutMs: 800 };
    const gw = track(await startTestGateway(cfg));

    const a = call(`${gw.url}/a`, { headers: { 'x-sub-url': `${callee.url}/hold`, 'x-request-id': 'holder' } });
    await waitFor('A holds the only instance', () => callee.seen.length === 1);
    const ac = new AbortController();
    const b = request(`${gw.url}/b`, { headers: { 'x-request-id': 'waiter' }, signal: ac.signal }).catch((err: unknown) => err);
    await sleep(150);
    ac.abort();
    const abortedAt = Date.now();
    expect(await b).toBeInstanceOf(Error);

    const line = await waitFor('access line of the waiter', () => accessLines(gw).find((l) => l.id === 'waiter'), 3000);
    expect(line.status).toBe(499);
    // The waiter stops waiting when its client goes, not when the 800 ms acquire timeout fires.
    expect(Date.now() - abortedAt).toBeLessThan(500);
    expect(upstream.seen.map((s) => s.url)).not.toContain('/b');
    expect((await a).status).toBe(200);
  });
});

describe('call-depth limit', () => {
  // A depth header from outside that is negative must not buy a loop extra levels.
  for (const [label, clientDepth] of [['no depth header', undefined], ['a negative x-praxis-depth from the client', '-3']] as const) {
    it(`stops a filter whose sub-request loops back into the gateway with 508 at maxDepth (${label})`, async () => {
      const upstream = track(await startEchoUpstream());
      const port = await freePort();
      const self = `http://127.0.0.1:${port}/loop`;
      const gw = track(await startGatewayOn({
        plugins: {
          // The first filter puts the self-URL on every request (the sub-request carries no client
          // headers), the second calls it: without the depth limit this recurses.
          setter: { path: fixturePath('testkit'), config: { name: 'setter', setRequestHeader: ['x-loop', self] } },
          looper: { path: fixturePath('testkit'), config: { name: 'looper', subrequestUrlHeader: 'x-loop' }, allowedHosts: [`127.0.0.1:${port}`] },
        },
        upstreams: { echo: { endpoints: [upstream.url] } },
        routes: [{ name: 'all', match: { pathPrefix: '/' }, upstream: 'echo', filters: ['setter', 'looper'], timeoutMs: 8000 }],
        limits: { maxDepth: 2 },
      }, port));

      const r = await call(`${gw.url}/start`, { headers: { 'x-request-id': 'loop-1', ...(clientDepth ? { 'x-praxis-depth': clientDepth } : {}) } });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text).headers['x-sub-status']).toBe('200');

      const lines = await waitFor('four access lines', () => {
        const l = accessLines(gw).filter((x) => x.id === 'loop-1');
        return l.length >= 4 ? l : undefined;
      });
      await sleep(100);
      const all = accessLines(gw).filter((x) => x.id === 'loop-1');
      // Entered at depth 0 (client), 1 and 2 (sub-requests), refused at depth 3.
      expect(all).toHaveLength(4);
      expect(lines[0]).toMatchObject({ status: 508, depth: 3, path: '/loop' });
      expect(all.slice(1).map((l) => l.status)).toEqual([200, 200, 200]);
      expect(all.slice(1).map((l) => l.subrequests?.[0]?.status)).toEqual([508, 200, 200]);
      expect(all.at(-1)!.path).toBe('/start');
    });
  }
});
