/** The key-value config keys: checked by the schema, each error naming its key; defaults need nothing. */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../runtime/config/load.ts';
import type { GatewayConfig } from '../../runtime/config/types.ts';

const base = (extra: Record<string, unknown>, plugin: Record<string, unknown> = {}): unknown => ({
  plugins: { p: { path: 'p.wasm', ...plugin } },
  upstreams: { up: { endpoints: ['http://127.0.0.1:1'] } },
  routes: [{ name: 'r', upstream: 'up', filters: ['p'] }],
  ...extra,
});

const problem = (value: unknown): string => {
  try {
    validateConfig(value);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
};

describe('keyvalue config', () => {
  it('accepts both backends and the plugin keys', () => {
    const cfg: GatewayConfig = validateConfig(base(
      { keyvalue: { backend: 'redis', redis: { url: 'rediss://u:p@cache:6380/2', keyPrefix: 'edge:', timeoutMs: 20, connectTimeoutMs: 500 }, memory: { maxEntries: 10, maxBytes: 1000 } } },
      { keyvalue: { namespaces: ['tenants', 'rate.v1'], maxKeyBytes: 64, maxValueBytes: 1024, maxEntries: 5, maxBytes: 4096 } },
    ));
    expect(cfg.keyvalue?.backend).toBe('redis');
    expect(problem(base({}))).toBe('accepted');
  });

  it.each([
    [{ keyvalue: { backend: 'mongo' } }, {}, 'keyvalue.backend'],
    [{ keyvalue: { redis: { url: 'http://cache:6379' } } }, {}, 'keyvalue.redis.url'],
    [{ keyvalue: { redis: { timeoutMs: 0 } } }, {}, 'keyvalue.redis.timeoutMs'],
    [{ keyvalue: { memory: { maxEntries: 0 } } }, {}, 'keyvalue.memory.maxEntries'],
    [{}, { keyvalue: { namespaces: ['plugin/other'] } }, 'plugins.p.keyvalue.namespaces'],
    [{}, { keyvalue: { namespaces: ['a:b'] } }, 'plugins.p.keyvalue.namespaces'],
    [{}, { keyvalue: { maxKeyBytes: 0 } }, 'plugins.p.keyvalue.maxKeyBytes'],
    [{}, { keyvalue: { maxEntrys: 3 } }, 'plugins.p.keyvalue'],
  ])('refuses %j %j naming %s', (extra, plugin, key) => {
    expect(problem(base(extra, plugin))).toContain(key);
  });
});
