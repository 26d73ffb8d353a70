/** The memory backend's bounds: per plugin a `limit` error, store-wide least-recently-used eviction. */
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../runtime/keyvalue/memory.ts';
import { KeyValueStore } from '../../runtime/keyvalue/store.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { bytes, scope, sleep, text, value } from './helpers.ts';

const track = useCleanup();
const tag = (r: { ok: boolean; error?: { tag: string } }) => (r.ok ? 'ok' : r.error!.tag);

describe('memory backend bounds', () => {
  it('a plugin past its maxEntries gets limit; overwriting its own keys and other plugins still work', async () => {
    const store = track(KeyValueStore.over(new MemoryBackend()));
    const kv = store.forPlugin('p', { maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) value(await kv.set(scope(), '', k, bytes('1')));
    expect(tag(await kv.set(scope(), '', 'd', bytes('1')))).toBe('limit');
    expect(tag(await kv.increment(scope(), '', 'e', 1n))).toBe('limit');
    expect(tag(await kv.compareAndSwap(scope(), '', 'f', undefined, bytes('1')))).toBe('limit');
    value(await kv.set(scope(), '', 'a', bytes('2')));
    expect(text(value(await kv.get(scope(), '', 'a')))).toBe('2');
    value(await store.forPlugin('q').set(scope(), '', 'd', bytes('1')));
    // A delete frees the slot again.
    expect(value(await kv.delete(scope(), '', 'b'))).toBe(true);
    value(await kv.set(scope(), '', 'd', bytes('1')));
  });

  it('a plugin past its maxBytes gets limit; the key and value both count', async () => {
    const store = track(KeyValueStore.over(new MemoryBackend()));
    const kv = store.forPlugin('p', { maxBytes: 100 });
    // "plugin/p:" (9) + "k1" (2) = 11 key bytes + 50 value bytes = 61.
    value(await kv.set(scope(), '', 'k1', new Uint8Array(50)));
    expect(tag(await kv.set(scope(), '', 'k2', new Uint8Array(50)))).toBe('limit');
    expect(value(await kv.get(scope(), '', 'k2'))).toBeUndefined();
    // Growing its own entry within the bound is fine; past it is not, and the old value stays.
    value(await kv.set(scope(), '', 'k1', new Uint8Array(89)));
    expect(tag(await kv.set(scope(), '', 'k1', new Uint8Array(90)))).toBe('limit');
    expect(value(await kv.get(scope(), '', 'k1'))!.byteLength).toBe(89);
  });

  it('expired entries stop counting against the plugin', async () => {
    const store = track(KeyValueStore.over(new MemoryBackend()));
    const kv = store.forPlugin('p', { maxEntries: 2 });
    value(await kv.set(scope(), '', 'a', bytes('1'), 200));
    value(await kv.set(scope(), '', 'b', bytes('1'), 200));
    expect(tag(await kv.set(scope(), '', 'c', bytes('1')))).toBe('limit');
    await sleep(400);
    value(await kv.set(scope(), '', 'c', bytes('1')));
    value(await kv.set(scope(), '', 'd', bytes('1')));
  });

  it('past the store-wide bounds the least recently used entries are evicted, across plugins', async () => {
    const backend = new MemoryBackend({ maxEntries: 3 });
    const store = track(KeyValueStore.over(backend));
    const a = store.forPlugin('a');
    const b = store.forPlugin('b');
    value(await a.set(scope(), '', 'one', bytes('1')));
    value(await b.set(scope(), '', 'two', bytes('2')));
    value(await a.set(scope(), '', 'three', bytes('3')));
    // Reading "one" makes "two" the least recently used.
    expect(text(value(await a.get(scope(), '', 'one')))).toBe('1');
    value(await b.set(scope(), '', 'four', bytes('4')));
    expect(value(await b.get(scope(), '', 'two'))).toBeUndefined();
    expect(text(value(await a.get(scope(), '', 'one')))).toBe('1');
    expect(text(value(await a.get(scope(), '', 'three')))).toBe('3');
    expect(backend.stats('b')).toMatchObject({ entries: 3, owner: { entries: 1 } });
  });

  it('store-wide maxBytes evicts by bytes; an entry larger than the whole store is a limit error', async () => {
    const backend = new MemoryBackend({ maxBytes: 200 });
    const store = track(KeyValueStore.over(backend));
    const kv = store.forPlugin('p');
    value(await kv.set(scope(), '', 'a', new Uint8Array(80)));
    value(await kv.set(scope(), '', 'b', new Uint8Array(80)));
    value(await kv.set(scope(), '', 'c', new Uint8Array(80)));
    expect(value(await kv.get(scope(), '', 'a'))).toBeUndefined();
    expect(backend.stats().bytes).toBeLessThanOrEqual(200);
    expect(tag(await kv.set(scope(), '', 'huge', new Uint8Array(250)))).toBe('limit');
    expect(value(await kv.get(scope(), '', 'c'))!.byteLength).toBe(80);
  });

  it('a value handed to set or read from get is a copy: later changes to the buffer do not reach the store', async () => {
    const store = track(KeyValueStore.over(new MemoryBackend()));
    const kv = store.forPlugin('p');
    const v = bytes('abc');
    value(await kv.set(scope(), '', 'k', v));
    v[0] = 0x7a;
    const got = value(await kv.get(scope(), '', 'k'))!;
    got[1] = 0x7a;
    expect(text(value(await kv.get(scope(), '', 'k')))).toBe('abc');
  });
});
