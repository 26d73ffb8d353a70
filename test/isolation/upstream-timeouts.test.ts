/**
 * Upstream timeouts: the route's timeoutMs bounds the time to the response head and its
 * idleTimeoutMs the gaps in the body, so a long stream lives as long as it flows; an upstream's
 * own timeouts bound each attempt (a slow head fails over to the next endpoint).
 */
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { jsonError, sleep, until } from '../gateway/helpers.ts';

const track = useCleanup();

/** An SSE upstream: `events` events `gapMs` apart, then the end, or a stall (held open) after `stallAfter` events. */
async function sse(events: number, gapMs: number, stallAfter?: number): Promise<TestServer & { released: () => boolean }> {
  let released = false;
  const server = track(await startServer(async (_req, res: ServerResponse) => {
    res.on('close', () => { if (!res.writableFinished) released = true; });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < events; i++) {
      if (res.destroyed) return;
      if (stallAfter !== undefined && i === stallAfter) return; // silent from here on, connection open
      res.write(`data: ${i}\n\n`);
      await sleep(gapMs);
    }
    res.end();
  }));
  return Object.assign(server, { released: () => released });
}

async function gateway(config: GatewayConfig): Promise<TestGateway> {
  return track(await startTestGateway(config));
}

/** Reads a response body to its end or its cut: what arrived, and whether it was cut. */
async function readAll(url: string): Promise<{ status: number; text: string; cut: boolean }> {
  const r = await request(url);
  let text = '';
  try {
    for await (const c of r.body) text += (c as Buffer).toString('utf8');
    return { status: r.statusCode, text, cut: false };
  } catch {
    return { status: r.statusCode, text, cut: true };
  }
}

describe('route timeouts on a streamed response', () => {
  it('an SSE stream that outlasts timeoutMs but keeps flowing is delivered whole', async () => {
    const up = await sse(10, 100);
    const gw = await gateway({ upstreams: { u: { endpoints: [up.url] } }, routes: [{ name: 'r', upstream: 'u', timeoutMs: 300, idleTimeoutMs: 2000 }] });
    const r = await readAll(`${gw.url}/stream`);
    expect(r.status).toBe(200);
    expect(r.cut).toBe(false);
    expect(r.text).toBe(Array.from({ length: 10 }, (_, i) => `data: ${i}\n\n`).join(''));
  });

  it('an SSE stream that stalls mid-body is cut after idleTimeoutMs and its upstream connection released', async () => {
    const up = await sse(10, 50, 2);
    const gw = await gateway({ upstreams: { u: { endpoints: [up.url] } }, routes: [{ name: 'r', upstream: 'u', timeoutMs: 10_000, idleTimeoutMs: 400 }] });
    const started = Date.now();
    const r = await readAll(`${gw.url}/stall`);
    expect(r.status).toBe(200);
    expect(r.cut).toBe(true);
    expect(r.text).toBe('data: 0\n\ndata: 1\n\n');
    expect(Date.now() - started).toBeLessThan(5000);
    await until(up.released, 'the upstream to see its response closed');
    expect(gw.exchangesInFlight()).toBe(0);
  });
});

describe('per-upstream timeouts', () => {
  it('headersMs: a slow head is 504 long before the route timeout; with retries it fails over', async () => {
    const slow = track(await startServer((_req, res) => { setTimeout(() => { if (!res.destroyed) res.end('late'); }, 3000); }));
    const fast = track(await startServer((_req, res) => { res.end('fast'); }));
    const gw = await gateway({
      upstreams: { slow: { endpoints: [slow.url], timeouts: { headersMs: 300 } }, both: { endpoints: [slow.url, fast.url], timeouts: { headersMs: 300 } } },
      routes: [
        { name: 'failover', match: { pathPrefix: '/failover' }, upstream: 'both', retries: 1, timeoutMs: 10_000 },
        { name: 'single', upstream: 'slow', timeoutMs: 10_000 },
      ],
    });
    const started = Date.now();
    const r = await request(`${gw.url}/single`);
    expect(r.statusCode).toBe(504);
    expect(jsonError(await r.body.text()).type).toBe('upstream_timeout');
    expect(Date.now() - started).toBeLessThan(2500);
    const f = await request(`${gw.url}/failover`);
    expect(f.statusCode).toBe(200);
    expect(await f.body.text()).toBe('fast');
  });

  it('bodyIdleMs: an upstream that goes silent mid-body is cut, whatever the route allows', async () => {
    const up = await sse(10, 50, 2);
    const gw = await gateway({
      upstreams: { u: { endpoints: [up.url], timeouts: { bodyIdleMs: 300 } } },
      routes: [{ name: 'r', upstream: 'u', timeoutMs: 10_000, idleTimeoutMs: 60_000 }],
    });
    const started = Date.now();
    const r = await readAll(`${gw.url}/silent`);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.cut).toBe(true);
    expect(r.text).toBe('data: 0\n\ndata: 1\n\n');
    await until(up.released, 'the upstream to see its response closed');
    await until(() => gw.exchangesInFlight() === 0, 'the exchange to end');
  });
});
