/**
 * The exchange clock keeps one timer per exchange: when the route deadline falls before the first
 * idle check would, the route timer becomes the idle check once the head has gone out. These
 * cases run on that path (timeoutMs < idleTimeoutMs): the deadline passing mid-stream must not
 * cut a flowing stream, and a stall must still be cut at the idle bound.
 */
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.ts';
import { startServer, startTestGateway } from '../helpers/servers.ts';
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

describe('one timer per exchange (route deadline before the first idle check)', () => {
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
});
