/** The store's contract on both backends: TTLs, counters, compare-and-swap under contention, namespaces, bounds of a call. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValueStore } from '../../runtime/keyvalue/store.ts';
import { type TestRedis, startRedis } from '../helpers/redis.ts';
import { bytes, openStore, scope, sleep, text, value } from './helpers.ts';

let redis: TestRedis;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

describe.each(['memory', 'redis'] as const)('%s backend', (backend) => {
  let store: KeyValueStore;
  beforeAll(async () => { store = await openStore(backend, redis.url); });
  afterAll(async () => { await store?.close(); });

  it('get, set, delete round-trip bytes exactly', async () => {
    const kv = store.forPlugin('a');
    const raw = new Uint8Array([0, 255, 10, 13, 58]);
    expect(value(await kv.get(scope(), '', 'k'))).toBeUndefined();
    value(await kv.set(scope(), '', 'k', raw));
    expect(value(await kv.get(scope(), '', 'k'))).toEqual(raw);
    expect(value(await kv.delete(scope(), '', 'k'))).toBe(true);
    expect(value(await kv.delete(scope(), '', 'k'))).toBe(false);
    expect(value(await kv.get(scope(), '', 'k'))).toBeUndefined();
  });

  it('an entry with a TTL expires; one without stays', async () => {
    const kv = store.forPlugin('ttl');
    value(await kv.set(scope(), '', 'short', bytes('x'), 500));
    value(await kv.set(scope(), '', 'kept', bytes('y')));
    expect(text(value(await kv.get(scope(), '', 'short')))).toBe('x');
    await sleep(800);
    expect(value(await kv.get(scope(), '', 'short'))).toBeUndefined();
    expect(text(value(await kv.get(scope(), '', 'kept')))).toBe('y');
  });

  it('increment sets the TTL only when it creates the counter; get returns its digits', async () => {
    const kv = store.forPlugin('ctr');
    expect(value(await kv.increment(scope(), '', 'n', 5n, 1000))).toBe(5n);
    await sleep(50);
    // A later increment with a long TTL must not extend the first one.
    expect(value(await kv.increment(scope(), '', 'n', -2n, 60_000))).toBe(3n);
    expect(text(value(await kv.get(scope(), '', 'n')))).toBe('3');
    await sleep(1300);
    expect(value(await kv.get(scope(), '', 'n'))).toBeUndefined();
    // Re-created after expiry: counts from 0 again.
    expect(value(await kv.increment(scope(), '', 'n', 1n))).toBe(1n);
    const big = 2n ** 62n;
    expect(value(await kv.increment(scope(), '', 'big', big))).toBe(big);
    expect(value(await kv.increment(scope(), '', 'big', big - 1n))).toBe(2n ** 63n - 1n);
    const over = await kv.increment(scope(), '', 'big', 1n);
    expect(over.ok ? 'ok' : over.error.tag).toBe('invalid');
    value(await kv.set(scope(), '', 'word', bytes('abc')));
    const r = await kv.increment(scope(), '', 'word', 1n);
    expect(r.ok ? 'ok' : r.error.tag).toBe('invalid');
  });

  it('compare-and-swap: 20 concurrent retry loops each add 1 twenty times to a JSON counter; the total is exact', async () => {
    const kv = store.forPlugin('cas');
    const key = 'counter';
    const worker = async () => {
      for (let i = 0; i < 20; i++) {
        for (;;) {
          const current = value(await kv.get(scope(), '', key));
          const n = current === undefined ? 0 : (JSON.parse(text(current)!) as { n: number }).n;
          if (value(await kv.compareAndSwap(scope(), '', key, current, bytes(JSON.stringify({ n: n + 1 }))))) break;
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    expect(JSON.parse(text(value(await kv.get(scope(), '', key)))!)).toEqual({ n: 400 });
  });

  it('compare-and-swap on an absent key writes only when nothing was expected', async () => {
    const kv = store.forPlugin('cas2');
    expect(value(await kv.compareAndSwap(scope(), '', 'k', bytes('old'), bytes('new')))).toBe(false);
    expect(value(await kv.get(scope(), '', 'k'))).toBeUndefined();
    expect(value(await kv.compareAndSwap(scope(), '', 'k', undefined, bytes('first'), 500))).toBe(true);
    expect(value(await kv.compareAndSwap(scope(), '', 'k', undefined, bytes('again')))).toBe(false);
    expect(text(value(await kv.get(scope(), '', 'k')))).toBe('first');
    await sleep(800);
    expect(value(await kv.get(scope(), '', 'k'))).toBeUndefined();
  });

  it('each plugin sees its own keys; a shared namespace only when granted', async () => {
    const a = store.forPlugin('alpha', { namespaces: ['shared'] });
    const b = store.forPlugin('beta', { namespaces: ['shared'] });
    const c = store.forPlugin('gamma');
    value(await a.set(scope(), '', 'k', bytes('from-a')));
    expect(value(await b.get(scope(), '', 'k'))).toBeUndefined();
    value(await a.set(scope(), 'shared', 'k', bytes('shared-value')));
    expect(text(value(await b.get(scope(), 'shared', 'k')))).toBe('shared-value');
    for (const ns of ['shared', 'plugin/alpha', 'plugin/alpha:k', 'other']) {
      const r = await c.get(scope(), ns, 'k');
      expect(r.ok ? 'ok' : r.error.tag).toBe('denied');
    }
    const forged = await b.get(scope(), 'plugin/alpha', 'k');
    expect(forged.ok ? 'ok' : forged.error.tag).toBe('denied');
  });

  it('key and value sizes past the plugin bounds are a limit error, and nothing is written', async () => {
    const kv = store.forPlugin('small', { maxKeyBytes: 8, maxValueBytes: 4 });
    const longKey = await kv.set(scope(), '', 'k'.repeat(9), bytes('v'));
    expect(longKey.ok ? 'ok' : longKey.error.tag).toBe('limit');
    const bigValue = await kv.set(scope(), '', 'k', bytes('12345'));
    expect(bigValue.ok ? 'ok' : bigValue.error.tag).toBe('limit');
    expect(value(await kv.get(scope(), '', 'k'))).toBeUndefined();
    const casBig = await kv.compareAndSwap(scope(), '', 'k', undefined, bytes('12345'));
    expect(casBig.ok ? 'ok' : casBig.error.tag).toBe('limit');
  });

  it('a call whose request deadline has passed or whose signal aborted answers unavailable and does nothing', async () => {
    const kv = store.forPlugin('late');
    const late = await kv.set({ deadline: Date.now() - 1, signal: new AbortController().signal }, '', 'k', bytes('v'));
    expect(late.ok ? 'ok' : late.error.tag).toBe('unavailable');
    const ctl = new AbortController();
    ctl.abort();
    const aborted = await kv.increment(scope(10_000, ctl.signal), '', 'k', 1n);
    expect(aborted).toEqual({ ok: false, error: { tag: 'unavailable', reason: 'cancelled' } });
    expect(value(await kv.get(scope(), '', 'k'))).toBeUndefined();
  });
});
