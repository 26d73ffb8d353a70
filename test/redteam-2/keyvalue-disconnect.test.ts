/**
 * A client that leaves while its request waits on the store: with Redis hung (SIGSTOP) and a
 * long per-call bound, the call must end as soon as the client is gone (`unavailable:
 * cancelled`), not hold the guest instance for the whole bound; and the gateway answers on.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.ts';
import { startRedis } from '../helpers/redis.ts';
import { fixturePath, startTestGateway } from '../helpers/servers.ts';
import { sleep } from '../gateway/helpers.ts';

const track = useCleanup();

describe('store calls and a client that leaves', () => {
  it('a call waiting on a hung Redis ends when the client disconnects, long before its bound', async () => {
    const redis = track(await startRedis());
    const gw = track(await startTestGateway({
      plugins: { probe: { path: fixturePath('kv-probe'), pool: { max: 1 } } },
      upstreams: { up: { endpoints: ['http://127.0.0.1:9'] } },
      routes: [{ name: 'r', upstream: 'up', filters: ['probe'], timeoutMs: 20_000 }],
      keyvalue: { backend: 'redis', redis: { url: redis.url, timeoutMs: 8000 } },
    }));
    expect((await fetch(`${gw.url}/`, { headers: { 'x-kv-ops': 'get' } })).status).toBe(200); // connected
    redis.pause();
    try {
      const req = request(`${gw.url}/`, { headers: { 'x-kv-ops': 'get' } });
      req.on('error', () => {});
      req.end();
      await sleep(300);
      const left = Date.now();
      req.destroy();
      const cancelled = /praxis_keyvalue_operations_total\{plugin="probe",op="get",outcome="unavailable"\} 1/;
      let metrics = '';
      while (!cancelled.test(metrics) && Date.now() - left < 7000) {
        metrics = await gw.metrics();
        await sleep(50);
      }
      expect(metrics).toMatch(cancelled);
      expect(Date.now() - left).toBeLessThan(4000);
    } finally {
      redis.resume();
    }
    // The one pooled instance is free again: the next request is served.
    const next = await fetch(`${gw.url}/`, { headers: { 'x-kv-ops': 'get' } });
    expect(next.status).toBe(200);
  });
});
