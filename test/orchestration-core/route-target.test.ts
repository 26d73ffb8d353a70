/**
 * `route://<name>/<path>` sub-requests run that route's filters and upstream selection in-process:
 * no connection to the gateway's listener, the parent's identity, depth + 1, and a loop stopped
 * by the depth guard with a 508 the guest sees.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../runtime/config/load.ts';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startEchoUpstream, startServer, startTestGateway, type TestGateway } from '../helpers/servers.ts';
import { sleep, testkit, until } from '../gateway/helpers.ts';
import { send } from './helpers.ts';

const track = useCleanup();

async function gateway(config: GatewayConfig): Promise<TestGateway> {
  return track(await startTestGateway(config));
}

/** Connections accepted by a listener on `port` while `fn` runs. */
async function acceptedDuring(port: number, fn: () => Promise<void>): Promise<number> {
  let n = 0;
  const onSocket = (msg: unknown) => { if ((msg as { socket: Socket }).socket.localPort === port) n++; };
  subscribe('net.server.socket', onSocket);
  try {
    await fn();
  } finally {
    unsubscribe('net.server.socket', onSocket);
  }
  return n;
}

describe('route:// sub-requests', () => {
  it('run the named route\'s filters and upstream in-process, with the parent\'s identity and depth + 1', async () => {
    const outerUp = track(await startEchoUpstream());
    const innerUp = track(await startEchoUpstream());
    const gw = await gateway({
      plugins: {
        caller: testkit({ name: 'caller', subrequestUrlHeader: 'x-sub-url' }, { allowedHosts: ['route://inner'] }),
        mark: testkit({ name: 'mark', setRequestHeader: ['x-inner-filter', 'yes'] }),
      },
      upstreams: { outer: { endpoints: [outerUp.url] }, inner: { endpoints: [innerUp.url] } },
      routes: [
        { name: 'outer', upstream: 'outer', filters: ['caller'], match: { pathPrefix: '/outer' } },
        { name: 'inner', upstream: 'inner', filters: ['mark'], match: { pathPrefix: '/inner' } },
      ],
    });
    let r: Awaited<ReturnType<typeof send>> | undefined;
    const accepted = await acceptedDuring(gw.port, async () => {
      r = await send(`${gw.url}/outer`, { headers: { 'x-sub-url': 'route://inner/items?q=1', 'x-request-id': 'parent-1' } });
    });
    expect(r!.status).toBe(200);
    expect(accepted).toBe(1); // the client's connection only: the sub-request opened none to the gateway
    const atOuter = outerUp.seen[0]!.headers;
    expect(atOuter['x-sub-status']).toBe('200');
    expect(innerUp.seen).toHaveLength(1);
    const inner = innerUp.seen[0]!;
    expect(inner.url).toBe('/items?q=1');
    expect(inner.headers['x-inner-filter']).toBe('yes');
    expect(inner.headers['x-request-id']).toBe('parent-1');
    expect(inner.headers['x-praxis-depth']).toBe('2'); // the sub-request came in at depth 1
    expect(inner.headers['x-praxis-inproc-route']).toBeUndefined();
    expect(String(atOuter['x-sub-body'])).toContain('"path":"/items?q=1"');
    const lines = gw.logs.filter((l) => l.log === 'access' && l.id === 'parent-1');
    expect(lines.map((l) => l.route).sort()).toEqual(['inner', 'outer']);
  });

  it('a loop through route:// is stopped by the depth guard: the deepest guest sees 508', async () => {
    const up = track(await startEchoUpstream());
    const gw = await gateway({
      plugins: {
        setter: testkit({ name: 'setter', setRequestHeader: ['x-sub-url', 'route://loop/again'] }),
        looper: testkit({ name: 'looper', subrequestUrlHeader: 'x-sub-url' }, { allowedHosts: ['route://loop'] }),
      },
      upstreams: { u: { endpoints: [up.url] } },
      routes: [{ name: 'loop', upstream: 'u', filters: ['setter', 'looper'] }],
      limits: { maxDepth: 2 },
    });
    const r = await send(`${gw.url}/start`);
    expect(r.status).toBe(200);
    // Depths 0, 1 and 2 reached the upstream; the call at depth 3 was refused.
    expect(up.seen).toHaveLength(3);
    const statuses = up.seen.map((s) => s.headers['x-sub-status']);
    expect(statuses.filter((s) => s === '508')).toHaveLength(1);
    expect(gw.logs.some((l) => l.log === 'access' && l.status === 508 && l.depth === 3)).toBe(true);
  });

  it('runs under the sub-request bounds: the timeout cuts the inner exchange, the response ceiling holds', async () => {
    const outerUp = track(await startEchoUpstream());
    const slow = track(await startServer(async (_req, res) => { await sleep(3000); res.end('late'); }));
    const big = track(await startServer((_req, res) => { res.end('x'.repeat(5000)); }));
    const gw = await gateway({
      plugins: {
        caller: testkit({ name: 'caller', subrequestUrlHeader: 'x-sub-url' }, {
          allowedHosts: ['route://slow', 'route://big'], subrequests: { timeoutMs: 200, maxResponseBytes: 1000 },
        }),
      },
      upstreams: { outer: { endpoints: [outerUp.url] }, slow: { endpoints: [slow.url] }, big: { endpoints: [big.url] } },
      routes: [
        { name: 'outer', upstream: 'outer', filters: ['caller'] },
        { name: 'slow', upstream: 'slow', match: { pathPrefix: '/slow' } },
        { name: 'big', upstream: 'big', match: { pathPrefix: '/big' } },
      ],
    });
    const started = Date.now();
    await send(`${gw.url}/a`, { headers: { 'x-sub-url': 'route://slow/' } });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(outerUp.seen[0]!.headers['x-sub-error']).toBe('timeout');
    // The inner exchange saw its caller go away (499), rather than running on to its own deadline.
    await until(() => gw.logs.some((l) => l.log === 'access' && l.route === 'slow'), 'the inner access line');
    expect(gw.logs.find((l) => l.log === 'access' && l.route === 'slow')!.status).toBe(499);
    await send(`${gw.url}/b`, { headers: { 'x-sub-url': 'route://big/' } });
    expect(outerUp.seen[1]!.headers['x-sub-error']).toBe('too-large');
  });

  it('is denied unless allowedHosts grants the route', async () => {
    const up = track(await startEchoUpstream());
    const gw = await gateway({
      plugins: { caller: testkit({ name: 'caller', subrequestUrlHeader: 'x-sub-url' }, { allowedHosts: ['route://other'] }) },
      upstreams: { u: { endpoints: [up.url] } },
      routes: [{ name: 'main', upstream: 'u', filters: ['caller'] }, { name: 'other', upstream: 'u', match: { pathPrefix: '/other' } }],
    });
    await send(`${gw.url}/x`, { headers: { 'x-sub-url': 'route://main/x' } });
    expect(up.seen[0]!.headers['x-sub-error']).toBe('denied:route://main not allowed');
    expect(up.seen).toHaveLength(1);
  });

  it('a client cannot force a route with the in-process header', async () => {
    const a = track(await startEchoUpstream());
    const b = track(await startEchoUpstream());
    const gw = await gateway({
      upstreams: { a: { endpoints: [a.url] }, b: { endpoints: [b.url] } },
      routes: [{ name: 'public', upstream: 'a' }, { name: 'private', upstream: 'b', match: { pathPrefix: '/private' } }],
    });
    const r = await send(`${gw.url}/x`, { headers: { 'x-praxis-inproc-route': 'guess private' } });
    expect(r.status).toBe(200);
    expect(b.seen).toHaveLength(0);
    expect(a.seen[0]!.headers['x-praxis-inproc-route']).toBeUndefined();
  });

  it('config: a route:// grant must name a route', () => {
    expect(() => validateConfig({
      plugins: { c: testkit({}, { allowedHosts: ['route://nope'] }) },
      upstreams: { u: { endpoints: ['http://127.0.0.1:1'] } },
      routes: [{ name: 'r', upstream: 'u' }],
    })).toThrow(/plugins\.c\.allowedHosts\[0\]: no route named "nope"/);
  });
});
