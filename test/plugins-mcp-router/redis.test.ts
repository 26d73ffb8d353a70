/** mcp-router over a real redis-server: two gateways sharing it keep every session on its server. */
import { describe, expect, it } from 'vitest';
import { startMcpServer } from '../../examples/mcp-servers.ts';
import type { KeyValueConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startRedis } from '../helpers/redis.ts';
import { startTestGateway } from '../helpers/servers.ts';
import { initialize, mcpGateway, rpc, whoami } from './helpers.ts';

const track = useCleanup();

describe('mcp-router on Redis', () => {
  it('a session created through one gateway is served on its server through the other', async () => {
    const redis = track(await startRedis());
    const servers = [track(await startMcpServer('alpha')), track(await startMcpServer('beta'))];
    const kv: KeyValueConfig = { backend: 'redis', redis: { url: redis.url, timeoutMs: 1000 } };
    const gws = [track(await startTestGateway(mcpGateway(servers, {}, kv))), track(await startTestGateway(mcpGateway(servers, {}, kv)))];
    const clients = [];
    for (let i = 0; i < 6; i++) clients.push(await initialize(gws[i % 2]!.url));
    // one round-robin counter in Redis: the two gateways take turns together
    expect(clients.map((c) => c.server).sort()).toEqual(['alpha', 'alpha', 'alpha', 'beta', 'beta', 'beta']);
    for (let round = 0; round < 4; round++) {
      const answers = await Promise.all(clients.map((c, i) => whoami(gws[(i + round) % 2]!.url, c.session)));
      expect(answers).toEqual(clients.map((c) => `${c.server} ${c.session}`));
    }
    expect(servers.flatMap((s) => s.seen).filter((s) => s.status !== 200)).toEqual([]);
  });

  it('Redis down: a session request is answered 503 (not guessed), a new session still gets a server; back with Redis', async () => {
    const redis = track(await startRedis());
    const servers = [track(await startMcpServer('alpha')), track(await startMcpServer('beta'))];
    const kv: KeyValueConfig = { backend: 'redis', redis: { url: redis.url, timeoutMs: 200 } };
    const gw = track(await startTestGateway(mcpGateway(servers, {}, kv)));
    const before = await initialize(gw.url);
    await redis.kill();
    const r = await rpc(gw.url, 'tools/list', before.session);
    expect(r.status).toBe(503);
    expect(r.json).toEqual({ jsonrpc: '2.0', error: { code: -32603, message: 'Session store unavailable' }, id: null });
    const during = await initialize(gw.url); // placed by hash; its mapping cannot be recorded
    expect(['alpha', 'beta']).toContain(during.server);
    expect(gw.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('mcp-router: session not recorded'))).toBe(true);

    await redis.restart(); // empty: the sessions are gone, clients re-initialise on the 404
    const until = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < until && (status = (await rpc(gw.url, 'tools/list', before.session)).status) === 503) await new Promise((res) => setTimeout(res, 100));
    expect(status).toBe(404);
    const after = await initialize(gw.url);
    expect(await whoami(gw.url, after.session)).toBe(`${after.server} ${after.session}`);
  });
});
