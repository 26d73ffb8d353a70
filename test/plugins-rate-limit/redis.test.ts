/**
 * The rate-limit plugin over a real redis-server: one limit held by two gateways sharing it
 * (all three algorithms, requests racing), and a Redis outage (the failure mode honoured,
 * nothing crashes, the limit back when Redis is).
 */
import { describe, expect, it } from 'vitest';
import type { KeyValueConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startRedis } from '../helpers/redis.ts';
import { startEchoUpstream, startTestGateway } from '../helpers/servers.ts';
import { limitedGateway, send, statuses } from './helpers.ts';

const track = useCleanup();

describe('rate-limit on Redis', () => {
  for (const algorithm of ['fixed', 'sliding', 'token-bucket']) {
    it(`${algorithm}: two gateways on one Redis hold one limit, requests racing`, async () => {
      const redis = track(await startRedis());
      const upstream = track(await startEchoUpstream());
      const kv: KeyValueConfig = { backend: 'redis', redis: { url: redis.url, timeoutMs: 1000 } };
      const config = { limit: 10, windowSeconds: 3600, algorithm, keyFrom: 'header', keyName: 'x-api-key', failureMode: 'closed' };
      const a = track(await startTestGateway(limitedGateway('rate-limit', config, upstream.url, kv)));
      const b = track(await startTestGateway(limitedGateway('rate-limit', config, upstream.url, kv)));
      const all = await Promise.all(Array.from({ length: 30 }, (_, i) => send(`http://127.0.0.1:${(i % 2 ? b : a).port}/`, { 'x-api-key': 'shared' })));
      const allowed = all.filter((r) => r.status === 200).length;
      expect(all.every((r) => r.status === 200 || r.status === 429)).toBe(true);
      // Within one request of the limit (the brief's bound); the counters are atomic, so exactly.
      expect(Math.abs(allowed - 10)).toBeLessThanOrEqual(1);
      expect(upstream.seen.length).toBe(allowed);
    });
  }

  it('Redis killed: failureMode open lets requests through, closed answers 503; the limit is back with Redis', async () => {
    const redis = track(await startRedis());
    const upstream = track(await startEchoUpstream());
    const kv: KeyValueConfig = { backend: 'redis', redis: { url: redis.url, timeoutMs: 200 } };
    const base = { limit: 2, windowSeconds: 3600, algorithm: 'fixed', keyFrom: 'header', keyName: 'x-api-key' };
    const open = track(await startTestGateway(limitedGateway('rate-limit', { ...base, failureMode: 'open' }, upstream.url, kv)));
    const closed = track(await startTestGateway(limitedGateway('rate-limit', { ...base, failureMode: 'closed' }, upstream.url, kv)));
    const openUrl = `http://127.0.0.1:${open.port}/`;
    const closedUrl = `http://127.0.0.1:${closed.port}/`;
    const h = { 'x-api-key': 'k' };
    expect(await statuses(openUrl, 3, h)).toEqual([200, 200, 429]);

    await redis.kill();
    expect(await statuses(openUrl, 3, h)).toEqual([200, 200, 200]);
    const refused = await send(closedUrl, h);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.text)).toEqual({ error: { type: 'rate_limit_unavailable', reason: 'limit store unavailable' } });
    expect(open.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('rate-limit: store failed (unavailable'))).toBe(true);

    await redis.restart();
    // The client reconnects on its own; until then the fail mode still answers.
    const until = Date.now() + 15_000;
    let back = false;
    while (!back && Date.now() < until) {
      back = (await send(closedUrl, { 'x-api-key': 'probe' })).status === 200;
      if (!back) await new Promise((r) => setTimeout(r, 100));
    }
    expect(back).toBe(true);
    // A fresh Redis (no persistence): the limit counts again from zero, on both gateways.
    expect(await statuses(openUrl, 3, h)).toEqual([200, 200, 429]);
    expect((await send(closedUrl, h)).status).toBe(429);
  });
});
