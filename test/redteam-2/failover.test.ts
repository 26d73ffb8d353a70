/**
 * Failover under attack: an upstream that answers 503 forever on every group, a body past
 * maxRetryBodyBytes, and a client that leaves while attempts are still to come.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startServer, startTestGateway, type TestGateway } from '../helpers/servers.ts';
import { sleep } from '../gateway/helpers.ts';

const track = useCleanup();

function groups(urls: string[], route: Partial<GatewayConfig['routes'][number]>): GatewayConfig {
  return {
    upstreams: { u: { backends: urls.map((url, i) => ({ name: `g${i}`, endpoints: [url], priority: i })), outlierDetection: { enabled: false } } },
    routes: [{ name: 'r', upstream: 'u', ...route }],
  };
}

describe('failover under attack', () => {
  it('503 forever on every group: retries + 1 attempts, then the 503 goes back', async () => {
    const servers = await Promise.all([0, 1, 2].map(async () => track(await startServer((_q, s) => { s.writeHead(503).end('busy'); }))));
    const gw: TestGateway = track(await startTestGateway(groups(servers.map((s) => s.url), { retries: 10 })));
    const started = Date.now();
    const r = await fetch(`${gw.url}/x`);
    expect(r.status).toBe(503);
    await r.text();
    expect(servers.reduce((n, s) => n + s.seen.length, 0)).toBe(11);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a body past maxRetryBodyBytes is refused whole (413): no attempt ever gets a truncated body', async () => {
    const up = track(await startServer((_q, s) => { s.writeHead(503).end('busy'); }));
    const gw: TestGateway = track(await startTestGateway(groups([up.url, up.url], { retries: 2, maxRetryBodyBytes: 1024 })));
    const r = await fetch(`${gw.url}/x`, { method: 'POST', body: 'x'.repeat(64 * 1024) });
    await r.text();
    expect(r.status).toBe(413);
    for (const s of up.seen) expect(s.body.length).toBe(64 * 1024);
    expect(up.seen).toHaveLength(0);
  });

  it('a client that leaves mid-failover cancels the attempts still to come', async () => {
    // Each attempt is answered 503 after 400 ms; the client leaves 150 ms into the first one.
    const up = track(await startServer(async (_q, s) => { await sleep(400); if (!s.destroyed) s.writeHead(503).end('busy'); }));
    const gw: TestGateway = track(await startTestGateway(groups([up.url, up.url, up.url], { retries: 10, timeoutMs: 30_000 })));
    const req = request(`${gw.url}/x`);
    req.on('error', () => {});
    req.end();
    await sleep(150);
    req.destroy();
    await sleep(2000);
    // At most the attempt under way when the client left (and one racing its answer).
    expect(up.seen.length).toBeLessThanOrEqual(2);
  });

  it('a body trickled in slowly while retries keep it for replay: cut at the route deadline, nothing sent upstream', async () => {
    const up = track(await startServer((_q, s) => { s.writeHead(200).end('ok'); }));
    const gw: TestGateway = track(await startTestGateway(groups([up.url, up.url], { retries: 2, timeoutMs: 1500 })));
    const started = Date.now();
    const status = await new Promise<number | string>((resolve) => {
      const req = request(`${gw.url}/x`, { method: 'POST', headers: { 'content-length': '100000' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', (err) => resolve(err.message));
      const drip = setInterval(() => { if (!req.destroyed) req.write('x'); }, 100);
      req.on('close', () => clearInterval(drip));
      setTimeout(() => { clearInterval(drip); req.destroy(); }, 8000);
    });
    expect([408, 504]).toContain(status);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(up.seen).toHaveLength(0);
  });
});
