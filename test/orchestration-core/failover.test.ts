/**
 * Priority groups and failover: attempts go to the lowest group in service; a retriable outcome
 * moves the next attempt to the next group; the access log and the metrics name the backend.
 */
import { describe, expect, it } from 'vitest';
import type { GatewayConfig, UpstreamConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { sleep } from '../gateway/helpers.ts';
import { accessLine, answering, deadUrl, send } from './helpers.ts';

const track = useCleanup();

async function gateway(config: GatewayConfig): Promise<TestGateway> {
  return track(await startTestGateway(config));
}

function twoGroups(primary: string, secondary: string, extra: Partial<UpstreamConfig> = {}): UpstreamConfig {
  return {
    backends: [
      { name: 'primary', endpoints: [primary], priority: 0 },
      { name: 'secondary', endpoints: [secondary], priority: 1 },
    ],
    ...extra,
  };
}

describe('priority groups', () => {
  it('a 503 from the primary (priority 0) goes on to the secondary (priority 1), which answers', async () => {
    const primary = track(await answering(503, 'busy'));
    const secondary = track(await answering(200, 'from secondary'));
    const gw = await gateway({
      upstreams: { u: twoGroups(primary.url, secondary.url) },
      routes: [{ name: 'r', upstream: 'u', retries: 1 }],
    });
    const r = await send(`${gw.url}/a`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('from secondary');
    expect(primary.seen).toHaveLength(1);
    expect(secondary.seen.map((s) => s.headers['x-processor-attempt'])).toEqual(['2']);
    expect(accessLine(gw, '/a')).toMatchObject({ status: 200, upstream: 'u', backend: 'secondary', attempt: 2 });
    const metrics = await gw.metrics();
    expect(metrics).toContain('praxis_upstream_attempts_total{upstream="u",backend="primary",outcome="503"} 1');
    expect(metrics).toContain('praxis_upstream_attempts_total{upstream="u",backend="secondary",outcome="200"} 1');
  });

  it('a connect failure at the primary goes on to the secondary', async () => {
    const secondary = track(await answering(200, 'from secondary'));
    const gw = await gateway({
      upstreams: { u: twoGroups(await deadUrl(), secondary.url) },
      routes: [{ name: 'r', upstream: 'u', retries: 1 }],
    });
    const r = await send(`${gw.url}/c`);
    expect(r.status).toBe(200);
    expect(accessLine(gw, '/c')).toMatchObject({ backend: 'secondary', attempt: 2 });
  });

  it('a primary that does not answer within timeouts.headersMs fails over to the secondary', async () => {
    const slow = track(await startServer(async (_req, res) => { await sleep(3000); res.end('late'); }));
    const secondary = track(await answering(200, 'from secondary'));
    const gw = await gateway({
      upstreams: { u: twoGroups(slow.url, secondary.url, { timeouts: { headersMs: 200 } }) },
      routes: [{ name: 'r', upstream: 'u', retries: 1 }],
    });
    const r = await send(`${gw.url}/t`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('from secondary');
  });

  it('a status in the route\'s retryOn is retriable too; without it the answer goes back', async () => {
    const primary = track(await answering(429, 'slow down'));
    const secondary = track(await answering(200, 'from secondary'));
    const gw = await gateway({
      upstreams: { u: twoGroups(primary.url, secondary.url) },
      routes: [
        { name: 'on', upstream: 'u', retries: 1, retryOn: [429], match: { pathPrefix: '/on' } },
        { name: 'off', upstream: 'u', retries: 1, match: { pathPrefix: '/off' } },
      ],
    });
    expect((await send(`${gw.url}/on`)).text).toBe('from secondary');
    expect((await send(`${gw.url}/off`)).status).toBe(429);
  });

  it('the route deadline stops the retries: 504 long before they would have run out', async () => {
    const slow = track(await startServer(async (_req, res) => { await sleep(250); res.writeHead(503).end('busy'); }));
    const gw = await gateway({
      upstreams: { u: { backends: [{ name: 'only', endpoints: [slow.url] }] } },
      routes: [{ name: 'r', upstream: 'u', retries: 10, timeoutMs: 600 }],
    });
    const started = Date.now();
    const r = await send(`${gw.url}/d`);
    expect(r.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2500); // 11 attempts would take 2750 ms
    expect(slow.seen.length).toBeLessThanOrEqual(3);
  });
});

describe('passive health checking', () => {
  it('an ejected group is skipped on the next request, and probed again after the back-off', async () => {
    let primaryStatus = 503;
    const primary: TestServer = track(await startServer((_req, res) => { res.writeHead(primaryStatus).end(`primary ${primaryStatus}`); }));
    const secondary = track(await answering(200, 'from secondary'));
    const gw = await gateway({
      upstreams: { u: twoGroups(primary.url, secondary.url, { outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 400 } }) },
      routes: [{ name: 'r', upstream: 'u', retries: 1 }],
    });
    // Two failures in a row eject the primary's one endpoint.
    for (const p of ['/1', '/2']) expect((await send(`${gw.url}${p}`)).text).toBe('from secondary');
    expect(primary.seen).toHaveLength(2);
    expect(gw.logs.some((l) => l.msg === 'upstream endpoint ejected' && l.upstream === 'u')).toBe(true);
    // Ejected: the next request goes straight to the secondary, as its first attempt.
    expect((await send(`${gw.url}/3`)).text).toBe('from secondary');
    expect(primary.seen).toHaveLength(2);
    expect(accessLine(gw, '/3')).toMatchObject({ backend: 'secondary', attempt: 1 });
    // After the back-off one request probes the primary, which has recovered: back in service.
    primaryStatus = 200;
    await sleep(500);
    expect((await send(`${gw.url}/4`)).text).toBe('primary 200');
    expect((await send(`${gw.url}/5`)).text).toBe('primary 200');
    expect(accessLine(gw, '/4')).toMatchObject({ backend: 'primary', attempt: 1 });
    expect(await gw.metrics()).toContain('praxis_upstream_endpoint_ejections_total{upstream="u"');
  });

  it('a failed probe ejects the endpoint again, for a longer back-off', async () => {
    const primary = track(await answering(503));
    const secondary = track(await answering(200, 'from secondary'));
    const gw = await gateway({
      upstreams: { u: twoGroups(primary.url, secondary.url, { outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 300 } }) },
      routes: [{ name: 'r', upstream: 'u', retries: 1 }],
    });
    await send(`${gw.url}/1`); // ejected for 300 ms
    await sleep(400);
    await send(`${gw.url}/2`); // the probe fails: ejected for 600 ms
    expect(primary.seen).toHaveLength(2);
    await sleep(400);
    await send(`${gw.url}/3`); // still ejected (400 < 600)
    expect(primary.seen).toHaveLength(2);
    const backoffs = gw.logs.filter((l) => l.msg === 'upstream endpoint ejected').map((l) => l.backoffMs);
    expect(backoffs).toEqual([300, 600]);
  });

  it('with every group ejected, requests still go out (to the lowest group) rather than being refused', async () => {
    const primary = track(await answering(503));
    const gw = await gateway({
      upstreams: { u: { backends: [{ name: 'p', endpoints: [primary.url] }], outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 60_000 } } },
      routes: [{ name: 'r', upstream: 'u' }],
    });
    await send(`${gw.url}/1`);
    expect((await send(`${gw.url}/2`)).status).toBe(503);
    expect(primary.seen).toHaveLength(2);
  });
});
