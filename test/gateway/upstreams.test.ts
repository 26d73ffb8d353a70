/** Routes, upstream failures, timeouts, retries and failover, as the client and the upstreams see them. */
import { Readable } from 'node:stream';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startEchoUpstream, startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { jsonError, sleep, testkit } from './helpers.ts';

const track = useCleanup();

async function server(handler: Parameters<typeof startServer>[0]): Promise<TestServer> {
  return track(await startServer(handler));
}

async function gateway(config: GatewayConfig): Promise<TestGateway> {
  return track(await startTestGateway(config));
}

/** A loopback port with nothing listening (a server that was started and closed). */
async function deadUrl(): Promise<string> {
  const s = await startServer(() => {});
  await s.close();
  return s.url;
}

async function send(url: string, opts: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  const r = await request(url, { method: opts.method ?? 'GET', ...(opts.body !== undefined ? { body: opts.body } : {}), headers: opts.headers ?? {} });
  return { status: r.statusCode, text: await r.body.text(), headers: r.headers };
}

function accessLine(g: TestGateway, path: string): Record<string, unknown> | undefined {
  return g.logs.find((l) => l.log === 'access' && l.path === path);
}

describe('routes', () => {
  it('matches by path prefix and header, first match wins; no match is 404 JSON', async () => {
    const a = track(await startEchoUpstream());
    const b = track(await startEchoUpstream());
    const cfg: GatewayConfig = {
      upstreams: { a: { endpoints: [a.url] }, b: { endpoints: [b.url] } },
      routes: [
        { name: 'beta', match: { pathPrefix: '/api/', headers: { 'x-beta': 'on' } }, upstream: 'b' },
        { name: 'api', match: { pathPrefix: '/api/' }, upstream: 'a' },
      ],
    };
    const gw = await gateway(cfg);
    expect((await send(`${gw.url}/api/x`)).status).toBe(200);
    expect((await send(`${gw.url}/api/y`, { headers: { 'x-beta': 'on' } })).status).toBe(200);
    expect(a.seen.map((s) => s.url)).toEqual(['/api/x']);
    expect(b.seen.map((s) => s.url)).toEqual(['/api/y']);
    const none = await send(`${gw.url}/other`);
    expect(none.status).toBe(404);
    expect(jsonError(none.text).type).toBe('no_route');
  });
});

describe('upstream failures', () => {
  it('a dead upstream is 502 JSON, and the gateway serves on', async () => {
    const gw = await gateway({ upstreams: { u: { endpoints: [await deadUrl()] } }, routes: [{ name: 'r', upstream: 'u' }] });
    const r = await send(`${gw.url}/x`);
    expect(r.status).toBe(502);
    expect(jsonError(r.text).type).toBe('upstream_failed');
  });

  it('an upstream slower than the route timeout is 504 within tolerance, and the upstream sees the call go away', async () => {
    let closedEarly = false;
    const slow = await server(async (req, res) => {
      res.on('close', () => { if (!res.writableFinished) closedEarly = true; });
      await sleep(2000);
      if (!res.destroyed) res.end('late');
    });
    const gw = await gateway({ upstreams: { u: { endpoints: [slow.url] } }, routes: [{ name: 'r', upstream: 'u', timeoutMs: 300 }] });
    const started = Date.now();
    const r = await send(`${gw.url}/slow`);
    const took = Date.now() - started;
    expect(r.status).toBe(504);
    expect(jsonError(r.text).type).toBe('timeout');
    expect(took).toBeGreaterThanOrEqual(280);
    expect(took).toBeLessThan(1200);
    await sleep(100);
    expect(closedEarly).toBe(true);
  });
});

describe('retries and failover', () => {
  it('a connect failure moves to the next endpoint, with the attempt counter raised', async () => {
    const alive = track(await startEchoUpstream());
    const gw = await gateway({
      upstreams: { u: { endpoints: [await deadUrl(), alive.url] } },
      routes: [{ name: 'r', upstream: 'u', retries: 1 }],
    });
    const r = await send(`${gw.url}/f`);
    expect(r.status).toBe(200);
    expect(alive.seen[0]!.headers['x-processor-attempt']).toBe('2');
    expect(accessLine(gw, '/f')!.attempt).toBe(2);
  });

  it('a 503 is retried with the same body, and upstream filters run again per attempt', async () => {
    let calls = 0;
    const flaky = await server((_req, res, body) => {
      calls++;
      res.writeHead(calls === 1 ? 503 : 200, { 'content-type': 'text/plain' });
      res.end(calls === 1 ? 'busy' : `got ${body}`);
    });
    const gw = await gateway({
      plugins: { t: testkit({ name: 't', contextCounter: true }) },
      upstreams: { u: { backends: [{ name: 'b', endpoints: [flaky.url], upstreamFilters: ['t'] }] } },
      routes: [{ name: 'r', upstream: 'u', retries: 2 }],
    });
    const r = await send(`${gw.url}/p`, { method: 'POST', body: 'payload-1' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('got payload-1');
    expect(flaky.seen.map((s) => s.body)).toEqual(['payload-1', 'payload-1']);
    // The request-scoped store survives the retry: the filter counted both attempts.
    expect(flaky.seen.map((s) => s.headers['x-context-count'])).toEqual(['1', '2']);
  });

  it('gives the last answer when retries run out', async () => {
    const down = await server((_req, res) => { res.writeHead(503).end('still busy'); });
    const gw = await gateway({ upstreams: { u: { endpoints: [down.url] } }, routes: [{ name: 'r', upstream: 'u', retries: 2 }] });
    const r = await send(`${gw.url}/q`);
    expect(r.status).toBe(503);
    expect(r.text).toBe('still busy');
    expect(down.seen.length).toBe(3);
  });

  it('with retries, a body over maxRetryBodyBytes is refused with 413 before the upstream is called', async () => {
    const echo = track(await startEchoUpstream());
    const gw = await gateway({ upstreams: { u: { endpoints: [echo.url] } }, routes: [{ name: 'r', upstream: 'u', retries: 1, maxRetryBodyBytes: 64 }] });
    const r = await send(`${gw.url}/big`, { method: 'POST', body: 'x'.repeat(100) });
    expect(r.status).toBe(413);
    // Also when the body arrives in many chunks, well past the ceiling.
    const chunks = async function* () { for (let i = 0; i < 64; i++) yield Buffer.alloc(16 * 1024, 120); };
    const big = await request(`${gw.url}/bigger`, { method: 'POST', body: Readable.from(chunks()) });
    expect(big.statusCode).toBe(413);
    expect(jsonError(await big.body.text()).type).toBe('body_too_large');
    expect(echo.seen.length).toBe(0);
  });

  it('a filter that picks an upstream that does not exist gets 502 naming the plugin; the log names the upstream', async () => {
    const echo = track(await startEchoUpstream());
    const gw = await gateway({
      plugins: { t: testkit({ name: 't', upstreamFromHeader: 'x-up' }) },
      upstreams: { u: { endpoints: [echo.url] } },
      routes: [{ name: 'r', upstream: 'u', filters: ['t'] }],
    });
    const r = await send(`${gw.url}/z`, { headers: { 'x-up': 'nowhere' } });
    expect(r.status).toBe(502);
    expect(jsonError(r.text)).toMatchObject({ type: 'filter_failed', plugin: 't' });
    expect(r.text).not.toContain('nowhere');
    expect(accessLine(gw, '/z')?.detail).toContain('"nowhere"');
    expect(echo.seen.length).toBe(0);
  });
});
