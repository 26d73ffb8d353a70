/**
 * Two phases per route: the route's `filters` run once per client request; a backend's
 * `upstreamFilters` run on every attempt sent to it, with the attempt's number and the request's
 * context store, and their response hooks run (for the attempt that answered) before the route's.
 */
import { describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { validateConfig } from '../../runtime/config/load.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startTestGateway, type TestGateway } from '../helpers/servers.ts';
import { testkit } from '../gateway/helpers.ts';
import { accessLine, answering, guestCount, send } from './helpers.ts';

const track = useCleanup();

async function gateway(config: GatewayConfig): Promise<TestGateway> {
  return track(await startTestGateway(config));
}

describe('route filters once, upstream filters per attempt', () => {
  it('upstream filters re-run per attempt with a rising attempt and the route filters\' context; route filters run once', async () => {
    const primary = track(await answering(503, 'busy'));
    const secondary = track(await answering(200, 'ok'));
    const gw = await gateway({
      plugins: {
        r: testkit({ name: 'r', logHooks: true }),
        c: testkit({ name: 'c', contextCounter: true, logHooks: true }),
        e: testkit({ name: 'e', echo: true }),
        s: testkit({ name: 's', setRequestHeader: ['x-backend-filter', 'secondary'] }),
      },
      upstreams: {
        u: {
          backends: [
            { name: 'primary', endpoints: [primary.url], priority: 0, upstreamFilters: ['c', 'e'] },
            { name: 'secondary', endpoints: [secondary.url], priority: 1, upstreamFilters: ['c', 'e', 's'] },
          ],
        },
      },
      routes: [{ name: 'main', upstream: 'u', retries: 1, filters: ['r', 'c'] }],
    });
    const r = await send(`${gw.url}/p`);
    expect(r.status).toBe(200);
    // The route's filters ran once: r once, c once on the route and once per attempt.
    expect(guestCount(gw, 'hook on-request-headers r')).toBe(1);
    expect(guestCount(gw, 'hook on-request-headers c')).toBe(3);
    const [p, s] = [primary.seen[0]!, secondary.seen[0]!];
    // c's count: 1 after the route phase, 2 on attempt 1, 3 on attempt 2 (one store, kept across attempts).
    expect([p.headers['x-context-count'], s.headers['x-context-count']]).toEqual(['2', '3']);
    expect([p.headers['x-echo-attempt'], s.headers['x-echo-attempt']]).toEqual(['1', '2']);
    expect([p.headers['x-processor-attempt'], s.headers['x-processor-attempt']]).toEqual(['1', '2']);
    // Each backend's own filters: only the secondary's added its header.
    expect(p.headers['x-backend-filter']).toBeUndefined();
    expect(s.headers['x-backend-filter']).toBe('secondary');
    expect(accessLine(gw, '/p')).toMatchObject({ backend: 'secondary', attempt: 2 });
  });

  it('response hooks: the answering backend\'s upstream filters first, then the route\'s', async () => {
    const primary = track(await answering(503));
    const secondary = track(await answering(200));
    const gw = await gateway({
      plugins: {
        r: testkit({ name: 'r', order: true }),
        p: testkit({ name: 'p', order: true }),
        s: testkit({ name: 's', order: true }),
      },
      upstreams: {
        u: {
          backends: [
            { name: 'primary', endpoints: [primary.url], upstreamFilters: ['p'] },
            { name: 'secondary', endpoints: [secondary.url], priority: 1, upstreamFilters: ['s'] },
          ],
        },
      },
      routes: [{ name: 'main', upstream: 'u', retries: 1, filters: ['r'] }],
    });
    const r = await send(`${gw.url}/o`);
    expect(r.status).toBe(200);
    expect(r.headers['x-order']).toBe('s,r');
    expect(secondary.seen[0]!.headers['x-order']).toBe('r,s');
    expect(primary.seen[0]!.headers['x-order']).toBe('r,p');
  });

  it('the request body is replayed to each attempt, and each backend\'s filters see it afresh', async () => {
    const primary = track(await answering(503));
    const secondary = track(await answering(200));
    const gw = await gateway({
      plugins: { up: testkit({ name: 'up', requestBody: 'buffer:1024', upperCaseBody: 'request' }) },
      upstreams: {
        u: {
          backends: [
            { name: 'primary', endpoints: [primary.url] },
            { name: 'secondary', endpoints: [secondary.url], priority: 1, upstreamFilters: ['up'] },
          ],
        },
      },
      routes: [{ name: 'main', upstream: 'u', retries: 1 }],
    });
    const r = await send(`${gw.url}/b`, { method: 'POST', body: 'hello body' });
    expect(r.status).toBe(200);
    expect(primary.seen[0]!.body).toBe('hello body');
    expect(secondary.seen[0]!.body).toBe('HELLO BODY');
    expect(secondary.seen[0]!.headers['content-length']).toBe('10');
  });

  it('without retries a streamed body goes through the upstream filters\' body hooks', async () => {
    const only = track(await answering(200));
    const gw = await gateway({
      plugins: { up: testkit({ name: 'up', requestBody: 'buffer:1024', upperCaseBody: 'request' }) },
      upstreams: { u: { backends: [{ name: 'b', endpoints: [only.url], upstreamFilters: ['up'] }] } },
      routes: [{ name: 'main', upstream: 'u' }],
    });
    const r = await send(`${gw.url}/s`, { method: 'POST', body: 'streamed' });
    expect(r.status).toBe(200);
    expect(only.seen[0]!.body).toBe('STREAMED');
  });

  it('upstream filters see x-processor-attempt in the head; route filters do not', async () => {
    const only = track(await answering(200));
    const gw = await gateway({
      plugins: { probe: testkit({ name: 'probe', rejectIfHeader: 'x-processor-attempt' }) },
      upstreams: {
        u: { backends: [{ name: 'b', endpoints: [only.url], upstreamFilters: ['probe'] }] },
        v: { endpoints: [only.url] },
      },
      routes: [
        { name: 'up', upstream: 'u', match: { pathPrefix: '/up' } },
        { name: 'route', upstream: 'v', filters: ['probe'], match: { pathPrefix: '/route' } },
      ],
    });
    expect((await send(`${gw.url}/up`)).text).toBe('rejected by probe');
    expect((await send(`${gw.url}/route`)).status).toBe(200);
  });

  it('an upstream filter that rejects answers the client, through the route filters\' response hooks', async () => {
    const only = track(await answering(200));
    const gw = await gateway({
      plugins: { r: testkit({ name: 'r', order: true }), no: testkit({ name: 'no', rejectStatus: 418, rejectBody: 'not this backend' }) },
      upstreams: { u: { backends: [{ name: 'b', endpoints: [only.url], upstreamFilters: ['no'] }] } },
      routes: [{ name: 'main', upstream: 'u', filters: ['r'] }],
    });
    const r = await send(`${gw.url}/x`);
    expect(r.status).toBe(418);
    expect(r.text).toBe('not this backend');
    expect(r.headers['x-order']).toBe('r');
    expect(only.seen).toHaveLength(0);
  });
});

describe('config', () => {
  const plugins = { t: testkit({}) };
  it('an upstream takes `endpoints` or `backends`, not both and not neither', () => {
    expect(() => validateConfig({ plugins, upstreams: { u: { endpoints: ['http://127.0.0.1:1'], backends: [{ name: 'b', endpoints: ['http://127.0.0.1:1'] }] } }, routes: [{ name: 'r', upstream: 'u' }] }))
      .toThrow(/upstreams\.u: needs exactly one of "endpoints" or "backends"/);
    expect(() => validateConfig({ upstreams: { u: {} }, routes: [{ name: 'r', upstream: 'u' }] }))
      .toThrow(/upstreams\.u: needs exactly one/);
  });

  it('names the key of an unknown upstream filter, a duplicate backend, a bad priority', () => {
    const bad = (backends: unknown[]) => () => validateConfig({ plugins, upstreams: { u: { backends } }, routes: [{ name: 'r', upstream: 'u' }] });
    expect(bad([{ name: 'b', endpoints: ['http://127.0.0.1:1'], upstreamFilters: ['t', 'nope'] }])).toThrow(/upstreams\.u\.backends\[0\]\.upstreamFilters\[1\]: no plugin named "nope"/);
    expect(bad([{ name: 'b', endpoints: ['http://127.0.0.1:1'] }, { name: 'b', endpoints: ['http://127.0.0.1:2'] }])).toThrow(/upstreams\.u\.backends\[1\]\.name: duplicate backend name "b"/);
    expect(bad([{ name: 'b', endpoints: ['http://127.0.0.1:1'], priority: -1 }])).toThrow(/upstreams\.u\.backends\[0\]\.priority/);
  });
});
