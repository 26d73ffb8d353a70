/**
 * Overlap through the gateway: a fan-out runs its sub-requests at once, and a hook suspended on
 * a sub-request holds only its own instance, so other requests on the same plugin go on.
 */
import { describe, expect, it } from 'vitest';
import type { GatewayConfig, PluginConfig } from '../../runtime/config/types.ts';
import { fixturePath, startEchoUpstream, startServer, startTestGateway, type TestServer } from '../helpers/servers.ts';
import { call, sleep, waitFor } from './support.ts';
import { useCleanup } from '../helpers/cleanup.ts';

const track = useCleanup();

/** A callee answering /s/<status>/<delay ms> after that delay; arrival times kept. */
async function delayedCallee(): Promise<TestServer & { arrivals: number[] }> {
  const arrivals: number[] = [];
  const s = await startServer(async (req, res) => {
    arrivals.push(performance.now());
    const m = /^\/s\/(\d{3})\/(\d+)/.exec(req.url ?? '');
    await sleep(m ? Number(m[2]) : 0);
    res.writeHead(m ? Number(m[1]) : 200);
    res.end(`done ${req.url}`);
  });
  return Object.assign(s, { arrivals });
}

function config(upstream: TestServer, calleePort: number, pool?: PluginConfig['pool']): GatewayConfig {
  return {
    plugins: {
      tk: {
        path: fixturePath('testkit'),
        config: { subrequestUrlHeader: 'x-sub-url', fanoutUrlsHeader: 'x-fanout-urls' },
        allowedHosts: [`127.0.0.1:${calleePort}`],
        ...(pool ? { pool } : {}),
      },
    },
    upstreams: { echo: { endpoints: [upstream.url] } },
    routes: [{ name: 'all', match: { pathPrefix: '/' }, upstream: 'echo', filters: ['tk'] }],
  };
}

describe('fan-out', () => {
  it('runs the sub-requests at the same time and returns results in input order', async () => {
    const upstream = track(await startEchoUpstream());
    const callee = track(await delayedCallee());
    const gw = track(await startTestGateway(config(upstream, callee.port)));
    expect((await call(`${gw.url}/warm`)).status).toBe(200);

    // The first URL is the slowest: completion order is the reverse of input order.
    const urls = [`${callee.url}/s/201/320`, `${callee.url}/s/202/300`, `${callee.url}/s/203/280`];
    const r = await call(`${gw.url}/fan`, { headers: { 'x-fanout-urls': urls.join(',') } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).headers['x-fanout']).toBe('201,202,203');
    expect(r.ms).toBeGreaterThanOrEqual(300);
    expect(r.ms).toBeLessThan(650); // sequential would be 900 ms
    expect(callee.arrivals).toHaveLength(3);
    expect(Math.max(...callee.arrivals) - Math.min(...callee.arrivals)).toBeLessThan(150);
  });
});

describe('suspended hooks', () => {
  it('a request whose hook waits on a sub-request does not block another request on the same plugin', async () => {
    const upstream = track(await startEchoUpstream());
    const callee = track(await delayedCallee());
    const gw = track(await startTestGateway(config(upstream, callee.port, { min: 1, max: 4, acquireTimeoutMs: 1000 })));
    expect((await call(`${gw.url}/warm`)).status).toBe(200);

    const a = call(`${gw.url}/a`, { headers: { 'x-sub-url': `${callee.url}/s/200/1000` } });
    await waitFor('A suspended on its sub-request', () => callee.arrivals.length === 1);
    const b = await call(`${gw.url}/b`);
    expect(b.status).toBe(200);
    expect(b.ms).toBeLessThan(200);
    expect(gw.subrequestsInFlight()).toBe(1); // A is still waiting

    const ra = await a;
    expect(ra.status).toBe(200);
    expect(ra.ms).toBeGreaterThanOrEqual(900);
    expect(JSON.parse(ra.text).headers['x-sub-status']).toBe('200');
  });

  it('(control) with one instance, the other request waits for the suspended one and times out', async () => {
    const upstream = track(await startEchoUpstream());
    const callee = track(await delayedCallee());
    const gw = track(await startTestGateway(config(upstream, callee.port, { min: 1, max: 1, acquireTimeoutMs: 300 })));
    expect((await call(`${gw.url}/warm`)).status).toBe(200);

    const a = call(`${gw.url}/a`, { headers: { 'x-sub-url': `${callee.url}/s/200/1000` } });
    await waitFor('A suspended on its sub-request', () => callee.arrivals.length === 1);
    const b = await call(`${gw.url}/b`);
    expect(b.status).toBe(503);
    expect(JSON.parse(b.text)).toMatchObject({ error: { type: 'pool_exhausted', plugin: 'tk' } });
    expect((await a).status).toBe(200);
  });
});
