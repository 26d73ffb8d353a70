/** The admin listener's Prometheus metrics count what crossed the gateway. */
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.ts';
import { startEchoUpstream, startServer, startTestGateway } from '../helpers/servers.ts';
import { oneRoute, testkit } from './helpers.ts';

const track = useCleanup();

/** The value of one sample line, e.g. `praxis_requests_total{route="main",status="200"}`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inner = line.slice(name.length + 1, line.indexOf('}'));
    const have = Object.fromEntries(inner.split(',').map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i), kv.slice(i + 2, -1)];
    }));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics', () => {
  it('counts requests, hook time, traps and sub-requests on /metrics', async () => {
    const upstream = track(await startEchoUpstream());
    const callee = track(await startServer((_req, res) => { res.end('ok'); }));
    const config = oneRoute(
      { tk: testkit({ name: 'tk', trapIfHeader: 'x-trap', subrequestUrlHeader: 'x-sub' }, { allowedHosts: ['127.0.0.1:*'], failure: 'closed' }) },
      ['tk'],
      { main: upstream.url },
    );
    const gw = track(await startTestGateway({ ...config, admin: { host: '127.0.0.1', port: 0 } }));
    expect(gw.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    for (let i = 0; i < 3; i++) expect((await request(`${gw.url}/ok`)).statusCode).toBe(200);
    expect((await request(`${gw.url}/sub`, { headers: { 'x-sub': `${callee.url}/x` } })).statusCode).toBe(200);
    expect((await request(`${gw.url}/trap`, { headers: { 'x-trap': '1' } })).statusCode).toBe(500);

    const res = await request(`${gw.adminUrl}/metrics`);
    expect(res.statusCode).toBe(200);
    const text = await res.body.text();
    expect(sample(text, 'praxis_requests_total', { route: 'main', status: '200' })).toBe(4);
    expect(sample(text, 'praxis_requests_total', { route: 'main', status: '500' })).toBe(1);
    expect(sample(text, 'praxis_filter_hook_duration_seconds_count', { plugin: 'tk', hook: 'on-request-headers' })).toBe(5);
    expect(sample(text, 'praxis_filter_hook_duration_seconds_bucket', { plugin: 'tk', hook: 'on-request-headers', le: '+Inf' })).toBe(5);
    expect(text).toContain('# TYPE praxis_filter_hook_duration_seconds histogram');
    // Buckets are cumulative: each is at least the one below it.
    const buckets = text.split('\n').filter((l) => l.startsWith('praxis_request_duration_seconds_bucket{route="main"')).map((l) => Number(l.split(' ').pop()));
    expect(buckets.length).toBeGreaterThan(3);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(buckets.at(-1)).toBe(5);
    expect(sample(text, 'praxis_filter_failures_total', { plugin: 'tk', hook: 'on-request-headers', kind: 'trap' })).toBe(1);
    expect(sample(text, 'praxis_subrequests_total', { plugin: 'tk', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'praxis_pool_instances_destroyed_total', { plugin: 'tk' })).toBe(1);
    expect(text).toContain('praxis_subrequests_in_flight 0');

    expect(await (await request(`${gw.adminUrl}/healthz`)).body.text()).toBe('ok\n');
  });

  it('refuses an admin block without a port, naming the key', async () => {
    const { validateConfig } = await import('../../runtime/config/load.ts');
    expect(() => validateConfig({ admin: {}, upstreams: { u: { endpoints: ['http://127.0.0.1:1'] } }, routes: [{ name: 'r', upstream: 'u' }] }))
      .toThrow(/admin\.port: is required/);
  });
});
