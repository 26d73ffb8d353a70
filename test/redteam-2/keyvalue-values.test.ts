/**
 * Values a plugin may throw at the store, on both backends alike: increments past the 64-bit
 * range either way, an increment on text, the longest TTL, a compare-and-swap whose expected value
 * is larger than any value the plugin may store, and keys at and past the size bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValueConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startTestGateway, type TestGateway } from '../helpers/servers.ts';
import { oneRoute, testkit } from '../gateway/helpers.ts';

const track = useCleanup();
let redis: TestRedis;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

async function gateway(keyvalue?: KeyValueConfig): Promise<TestGateway> {
  const config = oneRoute({ kv: testkit({ name: 'kv', kvHeader: 'x-kv', kvRespond: true }, { keyvalue: { maxValueBytes: 1024, maxKeyBytes: 64 } }) }, ['kv'], { up: 'http://127.0.0.1:9' });
  return track(await startTestGateway({ ...config, ...(keyvalue ? { keyvalue } : {}) }));
}

async function kv(gw: TestGateway, script: string): Promise<string[]> {
  const res = await fetch(`${gw.url}/`, { headers: { 'x-kv': script } });
  expect(res.status).toBe(200);
  return (await res.text()).split(';');
}

const MAX = '9223372036854775807';
const MIN = '-9223372036854775808';

for (const backend of ['memory', 'redis'] as const) {
  describe(`store values under attack (${backend})`, () => {
    it('increments past either end of the 64-bit range are invalid and change nothing; text is not a counter', async () => {
      const gw = await gateway(backend === 'redis' ? { backend, redis: { url: redis.url, keyPrefix: `rtv${Date.now()}:`, timeoutMs: 1000 } } : undefined);
      expect(await kv(gw, `set,,hi,${MAX};incr,,hi,1;get,,hi`)).toEqual(['ok', expect.stringMatching(/^err:invalid:/), `some:${MAX}`]);
      expect(await kv(gw, `incr,,lo,${MIN};incr,,lo,-1;get,,lo`)).toEqual([MIN, expect.stringMatching(/^err:invalid:/), `some:${MIN}`]);
      expect(await kv(gw, `incr,,big,${MAX};incr,,big,${MAX};get,,big`)).toEqual([MAX, expect.stringMatching(/^err:invalid:/), `some:${MAX}`]);
      expect(await kv(gw, 'set,,t,abc;incr,,t,1;set,,sp, 5;incr,,sp,1;set,,f,1.5;incr,,f,1')).toEqual(['ok', expect.stringMatching(/^err:invalid:/), 'ok', expect.stringMatching(/^err:invalid:/), 'ok', expect.stringMatching(/^err:invalid:/)]);
    });

    it('the longest TTL is kept; an expected value or a key past the plugin bounds is a limit error', async () => {
      const gw = await gateway(backend === 'redis' ? { backend, redis: { url: redis.url, keyPrefix: `rtw${Date.now()}:`, timeoutMs: 1000 } } : undefined);
      expect(await kv(gw, 'set,,long,v,4294967295;get,,long')).toEqual(['ok', 'some:v']);
      const huge = 'e'.repeat(8000);
      expect(await kv(gw, `set,,c,v;cas,,c,${huge},w;get,,c`)).toEqual(['ok', expect.stringMatching(/^err:limit:/), 'some:v']);
      const [key] = await kv(gw, `set,,${'k'.repeat(65)},v`);
      expect(key).toMatch(/^err:limit:/);
      expect(await kv(gw, `set,,${'k'.repeat(64)},v`)).toEqual(['ok']);
    });
  });
}
