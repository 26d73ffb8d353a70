/**
 * A plugin attacking the key-value store through a real gateway: reaching another plugin's
 * namespace by every spelling of its name (memory and Redis), store calls from `configure`, and
 * a hook hammering the store in an endless loop, which must stop at its CPU budget.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig, KeyValueConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { KV_IMPORTS, hostileComponent } from '../helpers/hostile.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { fixturePath, startTestGateway, type TestGateway } from '../helpers/servers.ts';

const track = useCleanup();
let redis: TestRedis;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

/** Two kv-probe plugins, `a` (granted "shared") and `b`, each alone on its route. */
function twoProbes(keyvalue?: KeyValueConfig): GatewayConfig {
  return {
    plugins: {
      a: { path: fixturePath('kv-probe'), keyvalue: { namespaces: ['shared'] } },
      b: { path: fixturePath('kv-probe') },
    },
    upstreams: { up: { endpoints: ['http://127.0.0.1:9'] } },
    routes: [
      { name: 'a', match: { pathPrefix: '/a' }, upstream: 'up', filters: ['a'] },
      { name: 'b', match: { pathPrefix: '/b' }, upstream: 'up', filters: ['b'] },
    ],
    ...(keyvalue ? { keyvalue } : {}),
  };
}

async function probe(gw: TestGateway, route: string, headers: Record<string, string>): Promise<string> {
  const res = await fetch(`${gw.url}/${route}`, { headers });
  expect(res.status).toBe(200);
  return (await res.text()).trim();
}

// Every spelling of plugin b's own namespace (and of a shared one not granted) plugin a can try.
const FORGED_STORES = [
  'plugin/b', 'plugin/b:', 'plugin/b/', '/plugin/b', 'plugin//b', './plugin/b', 'plugin/./b', 'shared/../plugin/b',
  'plugin%2Fb', 'plugin\u2215b', 'ＰＬＵＧＩＮ/b', 'plugin/B', 'Plugin/b', 'b', 'plugin', 'shared:', 'shared/', 'shared\u0000', 'shared\t.',
  'SHARED', 'x'.repeat(8000),
];

for (const backend of ['memory', 'redis'] as const) {
  describe(`a plugin reaching another's keys (${backend})`, () => {
    it('every forged store name is denied, and no key of b is read or overwritten', async () => {
      const gw = track(await startTestGateway(twoProbes(backend === 'redis' ? { backend, redis: { url: redis.url, keyPrefix: `rt${Date.now()}:` } } : undefined)));
      expect(await probe(gw, 'b', { 'x-kv-ops': 'set', 'x-kv-key': 'secret', 'x-kv-value': 'b-only' })).toBe('set=ok');
      for (const store of FORGED_STORES) {
        const res = await fetch(`${gw.url}/a`, { headers: { 'x-kv-ops': 'get,set', 'x-kv-store': store, 'x-kv-key': 'secret', 'x-kv-value': 'pwned' } }).catch(() => undefined);
        if (res === undefined) continue; // a header value fetch itself refuses (non-latin1) never reaches the gateway
        const lines = (await res.text()).trim().split('\n');
        for (const l of lines) expect(l, `store ${JSON.stringify(store)}`).toMatch(/^(get|set)=err:denied:/);
      }
      // Keys that embed the separator stay inside a's own namespace.
      for (const key of ['../b:secret', ':secret', 'b:secret', '/../plugin/b:secret', '\\plugin/b:secret']) {
        expect(await probe(gw, 'a', { 'x-kv-ops': 'get', 'x-kv-key': key })).toBe('get=none');
        expect(await probe(gw, 'a', { 'x-kv-ops': 'get', 'x-kv-store': 'shared', 'x-kv-key': key })).toBe('get=none');
      }
      expect(await probe(gw, 'b', { 'x-kv-ops': 'get', 'x-kv-key': 'secret' })).toBe('get=b-only');
    });
  });
}

async function hostileFile(parts: Parameters<typeof hostileComponent>[0]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'praxis-rt2-'));
  const path = join(dir, 'hostile.wasm');
  await writeFile(path, await hostileComponent({ version: '0.2.0', ...parts }));
  return path;
}

const ALL_KV = Object.values(KV_IMPORTS).join('\n');
const KEY = '(data (i32.const 210) "key")';
const getKey = '(call $kv_get (i32.const 210) (i32.const 0) (i32.const 210) (i32.const 3) (i32.const 3000))';

describe('store calls a plugin should not get far with', () => {
  it('a hook calling the store in an endless loop stops at its CPU budget: 500, and the gateway answers on', async () => {
    const path = await hostileFile({ imports: ALL_KV, extra: KEY, requestHeaders: `(loop $again ${getKey} (br $again))` });
    const gw = track(await startTestGateway({
      plugins: { hammer: { path, cpuBudgetMs: 20, failure: 'closed' } },
      upstreams: { up: { endpoints: ['http://127.0.0.1:9'] } },
      routes: [{ name: 'r', upstream: 'up', filters: ['hammer'] }],
    }));
    const started = Date.now();
    const res = await fetch(`${gw.url}/`);
    expect(res.status).toBe(500);
    await res.text();
    expect(gw.logs.some((l) => /cpu/i.test(JSON.stringify(l)) && l.plugin === 'hammer'), 'a cpu-budget failure logged').toBe(true);
    // A store call is charged as guest work: the loop ends long before the route's 30 s deadline.
    expect(Date.now() - started).toBeLessThan(10_000);
    const calls = /praxis_keyvalue_operations_total\{plugin="hammer",op="get",outcome="ok"\} (\d+)/.exec(await gw.metrics());
    expect(Number(calls?.[1] ?? 0)).toBeGreaterThan(0);
    expect(Number(calls?.[1])).toBeLessThan(200_000);
  });

  it('a store call from configure answers unavailable (never a trap, never a write)', async () => {
    // configure traps (and the plugin fails to load) unless the call returned err(unavailable).
    const check = `${getKey}
      (if (i32.ne (i32.load8_u (i32.const 3000)) (i32.const 1)) (then unreachable))
      (if (i32.ne (i32.load8_u (i32.const 3004)) (i32.const 0)) (then unreachable))`;
    const path = await hostileFile({ imports: ALL_KV, extra: KEY, configure: check });
    const gw = track(await startTestGateway({
      plugins: { early: { path } },
      upstreams: { up: { endpoints: ['http://127.0.0.1:9'] } },
      routes: [{ name: 'r', upstream: 'up', filters: ['early'] }],
    }));
    expect(await gw.metrics()).not.toMatch(/praxis_keyvalue_operations_total\{plugin="early",op="get",outcome="ok"\} [1-9]/);
  });
});
