/** mcp-router over a real redis-server: two gateways sharing it keep every session on its server. */
import { describe, expect, it } from 'vitest';
import { startMcpServer } from '../../examples/mcp-servers.ts';
import type { KeyValueConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startRedis } from '../helpers/redis.ts';
import { startTestGateway } from '../helpers/servers.ts';
import { initialize, mcpGateway, whoami } from './helpers.ts';

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
});
