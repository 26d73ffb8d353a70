/**
 * The token-budget plugin over a real redis-server: one budget spent through two gateways, API
 * keys only as hashes in Redis, and a Redis outage (fail mode honoured, charges resume after).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KeyValueConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startRedis } from '../helpers/redis.ts';
import { startTestGateway } from '../helpers/servers.ts';
import { limitedGateway, send } from '../plugins-rate-limit/helpers.ts';
import { startFakeLlm } from './fake-llm.ts';

const track = useCleanup();
const chat = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
const CLI = ['/usr/bin/redis-cli', '/usr/local/bin/redis-cli'].find((p) => existsSync(p));

describe('token-budget on Redis', () => {
  it('two gateways spend one budget; the API key never reaches Redis in clear', async () => {
    const redis = track(await startRedis());
    const llm = track(await startFakeLlm());
    const kv: KeyValueConfig = { backend: 'redis', redis: { url: redis.url, timeoutMs: 1000 } };
    const config = { budget: 100, windowSeconds: 3600 };
    const a = track(await startTestGateway(limitedGateway('token-budget', config, llm.url, kv)));
    const b = track(await startTestGateway(limitedGateway('token-budget', config, llm.url, kv)));
    const h = { authorization: 'Bearer sk-secret-123', 'content-type': 'application/json' };
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) seen.push((await send(`http://127.0.0.1:${(i % 2 ? b : a).port}/`, h, chat)).status);
    expect(seen).toEqual([200, 200, 200, 200, 429, 429]); // 30 tokens each: 0, 30, 60, 90 < 100, then 120
    if (CLI) {
      const keys = execFileSync(CLI, ['-p', String(redis.port), '--scan'], { encoding: 'utf8' });
      expect(keys).toMatch(/token-budget/);
      expect(keys).not.toContain('sk-secret-123');
    }
  });

  it('Redis killed: open lets requests through, closed answers 503; budgets count again once it is back', async () => {
    const redis = track(await startRedis());
    const llm = track(await startFakeLlm());
    const kv: KeyValueConfig = { backend: 'redis', redis: { url: redis.url, timeoutMs: 200 } };
    const open = track(await startTestGateway(limitedGateway('token-budget', { budget: 50, failureMode: 'open' }, llm.url, kv)));
    const closed = track(await startTestGateway(limitedGateway('token-budget', { budget: 50, failureMode: 'closed' }, llm.url, kv)));
    const h = { authorization: 'Bearer k', 'content-type': 'application/json' };
    const openUrl = `http://127.0.0.1:${open.port}/`;
    const closedUrl = `http://127.0.0.1:${closed.port}/`;
    await redis.kill();
    for (let i = 0; i < 3; i++) expect((await send(openUrl, h, chat)).status).toBe(200);
    const refused = await send(closedUrl, h, chat);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.text)).toEqual({ error: { type: 'token_budget_unavailable', reason: 'budget store unavailable' } });
    expect(open.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('token-budget: store failed (unavailable'))).toBe(true);

    await redis.restart();
    const until = Date.now() + 15_000;
    let back = false;
    while (!back && Date.now() < until) {
      back = (await send(closedUrl, { authorization: 'Bearer probe', 'content-type': 'application/json' }, chat)).status === 200;
      if (!back) await new Promise((r) => setTimeout(r, 100));
    }
    expect(back).toBe(true);
    const after: number[] = [];
    for (let i = 0; i < 3; i++) after.push((await send(openUrl, h, chat)).status);
    expect(after).toEqual([200, 200, 429]);
  });
});
