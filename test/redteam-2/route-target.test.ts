/**
 * `route://` sub-requests under attack: dot segments and encoded names in the URL, a name that
 * is not valid percent-encoding, and a fan-out far past the sub-request caps through
 * http-subrequest-all. The route a call runs is the one granted, whatever its path says; the caps
 * hold (overloaded, never a crash), and the gateway answers on.
 */
import { describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startEchoUpstream, startTestGateway, type TestGateway } from '../helpers/servers.ts';
import { testkit } from '../gateway/helpers.ts';

const track = useCleanup();

async function gateway(innerUrl: string, adminUrl: string, outerUrl: string): Promise<TestGateway> {
  const config: GatewayConfig = {
    plugins: {
      caller: testkit({ name: 'caller', subrequestUrlHeader: 'x-sub-url', fanoutUrlsHeader: 'x-fanout-urls' }, { allowedHosts: ['route://inner'], subrequests: { maxInFlight: 16 } }),
      mark: testkit({ name: 'mark', setRequestHeader: ['x-inner-filter', 'yes'] }),
    },
    upstreams: { outer: { endpoints: [outerUrl] }, inner: { endpoints: [innerUrl] }, admin: { endpoints: [adminUrl] } },
    routes: [
      { name: 'admin', upstream: 'admin', match: { pathPrefix: '/admin' } },
      { name: 'inner', upstream: 'inner', filters: ['mark'], match: { pathPrefix: '/inner' } },
      { name: 'outer', upstream: 'outer', filters: ['caller'] },
    ],
  };
  return track(await startTestGateway(config));
}

describe('route:// under attack', () => {
  it('a path with dot segments stays on the granted route; encoded or malformed names are refused', async () => {
    const [outer, inner, admin] = [track(await startEchoUpstream()), track(await startEchoUpstream()), track(await startEchoUpstream())];
    const gw = await gateway(inner.url, admin.url, outer.url);
    for (const url of ['route://inner/../admin/x', 'route://inner/%2e%2e/admin/x', 'route://inner/..%2Fadmin']) {
      const r = await fetch(`${gw.url}/go`, { headers: { 'x-sub-url': url } });
      await r.text();
      expect(r.status, url).toBe(200);
    }
    expect(admin.seen).toHaveLength(0);
    // Every call that ran went through inner's filter; an encoded slash is refused by inner (400).
    for (const s of inner.seen) expect(s.headers['x-inner-filter']).toBe('yes');
    const statuses = outer.seen.map((s) => s.headers['x-sub-status'] ?? s.headers['x-sub-error']);
    expect(statuses.slice(0, 2)).toEqual(['200', '200']);
    expect(['400', '200']).toContain(statuses[2]);

    outer.seen.length = 0;
    for (const url of ['route://inner%2F..%2Fadmin/x', 'route://admin/x', 'route://%E0%A4%A/x', 'route://INNER/x', 'route://inner@admin/x', 'route:///admin']) {
      const r = await fetch(`${gw.url}/go`, { headers: { 'x-sub-url': url } });
      await r.text();
      expect(r.status, url).toBe(200);
    }
    expect(admin.seen).toHaveLength(0);
    for (const s of outer.seen) expect(String(s.headers['x-sub-error']), JSON.stringify(s.headers['x-sub-error'])).toMatch(/^denied/);
    // The gateway still answers.
    expect((await fetch(`${gw.url}/inner/ok`)).status).toBe(200);
  });

  it('a fan-out of 400 route:// calls: the caps hold (overloaded), the inner upstream sees at most the cap, no crash', async () => {
    const [outer, inner, admin] = [track(await startEchoUpstream()), track(await startEchoUpstream()), track(await startEchoUpstream())];
    const gw = await gateway(inner.url, admin.url, outer.url);
    const urls = Array.from({ length: 400 }, (_, i) => `route://inner/n${i}`).join(',');
    const r = await fetch(`${gw.url}/go`, { headers: { 'x-fanout-urls': urls } });
    await r.text();
    expect(r.status).toBe(200);
    const outcomes = String(outer.seen[0]!.headers['x-fanout']).split(',');
    expect(outcomes).toHaveLength(400);
    for (const o of outcomes) expect(['200', 'overloaded']).toContain(o);
    expect(outcomes.filter((o) => o === '200').length).toBeGreaterThan(0);
    expect(inner.seen.length).toBeLessThanOrEqual(16);
    expect((await fetch(`${gw.url}/inner/ok`)).status).toBe(200);
  });

  it('a filter setting the in-process route header on the upstream request: never sent, never routes', async () => {
    const up = track(await startEchoUpstream());
    const gw = track(await startTestGateway({
      plugins: { forger: testkit({ name: 'forger', setRequestHeader: ['x-praxis-inproc-route', 'guess admin'] }) },
      upstreams: { up: { endpoints: [up.url] }, admin: { endpoints: ['http://127.0.0.1:9'] } },
      routes: [{ name: 'admin', upstream: 'admin', match: { pathPrefix: '/admin' } }, { name: 'pub', upstream: 'up', filters: ['forger'] }],
    }));
    const r = await fetch(`${gw.url}/x`);
    expect(r.status).toBe(200);
    expect(up.seen[0]!.headers['x-praxis-inproc-route']).toBeUndefined();
  });

  it('a fan-out loop (each level calls itself 8 times over route://) is bounded by the caps and the depth guard', async () => {
    const up = track(await startEchoUpstream());
    const urls = Array.from({ length: 8 }, (_, i) => `route://loop/n${i}`).join(',');
    const gw = track(await startTestGateway({
      plugins: {
        setter: testkit({ name: 'setter', setRequestHeader: ['x-fanout-urls', urls] }),
        looper: testkit({ name: 'looper', fanoutUrlsHeader: 'x-fanout-urls' }, { allowedHosts: ['route://loop'] }),
      },
      upstreams: { u: { endpoints: [up.url] } },
      routes: [{ name: 'loop', upstream: 'u', filters: ['setter', 'looper'], timeoutMs: 20_000 }],
    }));
    const started = Date.now();
    const r = await fetch(`${gw.url}/start`);
    await r.text();
    expect(r.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(15_000);
    // Without the caps 8 + 8^2 + ... + 8^9 exchanges; the sub-request caps hold it to a few hundred.
    expect(up.seen.length).toBeLessThan(2000);
    expect((await fetch(`${gw.url}/ok`, { headers: { 'x-praxis-depth': '99' } })).status).toBe(508);
    const after = await fetch(`${gw.url}/again`);
    await after.text();
    expect(after.status).toBe(200);
  });
});
