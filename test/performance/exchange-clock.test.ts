/**
 * The exchange clocks share one sweep (deadline-sweep.ts) instead of a timer each: the route
 * deadline passing mid-stream must not cut a flowing stream, a stall must still be cut at the idle
 * bound, the route deadline still answers 504, and every ended exchange leaves the sweep.
 */
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.ts';
import { startServer, startTestGateway } from '../helpers/servers.ts';
import { listedDeadlines } from '../../runtime/gateway/deadline-sweep.ts';
import { sleep, until } from '../gateway/helpers.ts';

const track = useCleanup();

/** `events` SSE events `gapMs` apart; silent (held open) from event `stallAfter` on. */
async function sse(events: number, gapMs: number, stallAfter?: number) {
  let released = false;
  const server = track(await startServer(async (_req, res: ServerResponse) => {
    res.on('close', () => { if (!res.writableFinished) released = true; });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < events; i++) {
      if (res.destroyed) return;
      if (i === stallAfter) return;
      res.write(`data: ${i}\n\n`);
      await sleep(gapMs);
    }
    res.end();
  }));
  return Object.assign(server, { released: () => released });
}

async function read(url: string): Promise<{ status: number; text: string; cut: boolean }> {
  const r = await request(url);
  let text = '';
  try {
    for await (const c of r.body) text += (c as Buffer).toString('utf8');
    return { status: r.statusCode, text, cut: false };
  } catch {
    return { status: r.statusCode, text, cut: true };
  }
}

describe('exchange deadlines on one sweep', () => {
  it('a stream with gaps shorter than idleTimeoutMs outlives the route deadline whole, over several idle periods', async () => {
    // 12 events 150 ms apart: 1.8 s, past timeoutMs (200) and three idle periods (500).
    const up = await sse(12, 150);
    const gw = track(await startTestGateway({ upstreams: { u: { endpoints: [up.url] } }, routes: [{ name: 'r', upstream: 'u', timeoutMs: 200, idleTimeoutMs: 500 }] }));
    const r = await read(`${gw.url}/flow`);
    expect(r).toEqual({ status: 200, cut: false, text: Array.from({ length: 12 }, (_, i) => `data: ${i}\n\n`).join('') });
  });

  it('a stream that stalls after the route deadline is cut at idleTimeoutMs and its upstream released', async () => {
    const up = await sse(10, 50, 2);
    const gw = track(await startTestGateway({ upstreams: { u: { endpoints: [up.url] } }, routes: [{ name: 'r', upstream: 'u', timeoutMs: 200, idleTimeoutMs: 600 }] }));
    const started = Date.now();
    const r = await read(`${gw.url}/stall`);
    const took = Date.now() - started;
    expect(r).toEqual({ status: 200, cut: true, text: 'data: 0\n\ndata: 1\n\n' });
    // Not at the route deadline (200 ms): the idle bound (600 ms after the last chunk) cuts it.
    expect(took).toBeGreaterThanOrEqual(600);
    expect(took).toBeLessThan(5000);
    await until(up.released, 'the upstream to see its response closed');
    expect(gw.exchangesInFlight()).toBe(0);
  });

  it('the route deadline still answers 504, and no ended exchange or upload stays in the sweep (answered, timed out, or left by its client)', async () => {
    const slow = track(await startServer((_req, res) => { setTimeout(() => { if (!res.destroyed) res.end('late'); }, 1500); }));
    const fast = track(await startServer((_req, res) => { res.end('ok'); }));
    const gw = track(await startTestGateway({
      upstreams: { slow: { endpoints: [slow.url] }, fast: { endpoints: [fast.url] } },
      routes: [
        { name: 'slow', match: { pathPrefix: '/slow' }, upstream: 'slow', timeoutMs: 250 },
        { name: 'fast', upstream: 'fast' },
      ],
    }));
    const before = listedDeadlines();
    const started = Date.now();
    const timedOut = await request(`${gw.url}/slow`);
    expect(timedOut.statusCode).toBe(504);
    await timedOut.body.dump();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(1400);
    const answered = await Promise.all(Array.from({ length: 20 }, async () => {
      const r = await request(`${gw.url}/fast`);
      await r.body.dump();
      return r.statusCode;
    }));
    expect(answered.every((s) => s === 200)).toBe(true);
    // Uploads: their body watch shares the sweep too, and leaves it with the body.
    const posted = await Promise.all(Array.from({ length: 10 }, async () => {
      const r = await request(`${gw.url}/fast`, { method: 'POST', body: 'x'.repeat(1000) });
      await r.body.dump();
      return r.statusCode;
    }));
    expect(posted.every((s) => s === 200)).toBe(true);
    // A client that leaves while the upstream is still thinking.
    const leaving = new AbortController();
    const left = request(`${gw.url}/slow`, { signal: leaving.signal }).catch(() => undefined);
    await sleep(50);
    leaving.abort();
    await left;
    await until(() => gw.exchangesInFlight() === 0, 'every exchange to end');
    expect(listedDeadlines()).toBe(before);
  });
});
