/**
 * The key-value store of the plugin test kit: the gateway's own memory backend behind the same
 * per-plugin view (namespace grants, size bounds), seeded before the first run and read back
 * after each, so a test sees what a hook stored without a gateway. One store per loaded filter:
 * runs share it, as requests to a gateway do (a counter counts across runs).
 */
import type { PluginKeyValueConfig } from '../config/types.ts';
import { MemoryBackend } from '../keyvalue/memory.ts';
import { KeyValueStore } from '../keyvalue/store.ts';
import type { KvCallScope, KvResult, PluginKeyValue } from '../keyvalue/types.ts';

export interface KeyValueOptions {
  /** Entries before the first run: namespace ("" is the plugin's own) -> key -> value (text is stored as UTF-8). */
  seed?: Record<string, Record<string, string | Uint8Array>>;
  /** Shared namespaces granted to the plugin, as `plugins.<name>.keyvalue.namespaces` grants them; seeded ones are granted too. */
  namespaces?: string[];
  /** The plugin's bounds (`maxKeyBytes`, `maxValueBytes`, `maxEntries`, `maxBytes`), defaults as in a gateway. */
  limits?: Omit<PluginKeyValueConfig, 'namespaces'>;
  /** Every store call answers `unavailable` with this reason: a backend that is down. */
  unavailable?: string;
}

/** The store after a run: namespace ("" the plugin's own) -> key -> value, for every key seeded or written. */
export type KeyValueView = Record<string, Record<string, Uint8Array>>;

const encoder = new TextEncoder();
/** The view reads with no request around it: a scope that never ends. */
const FOREVER: KvCallScope = { deadline: Number.MAX_SAFE_INTEGER, signal: new AbortController().signal };

export class TestKeyValue {
  /** What the plugin's hooks call (FilterHost delegates to it). */
  readonly plugin: PluginKeyValue;
  private readonly store: KeyValueStore;
  private readonly inner: PluginKeyValue;
  /** Every (namespace, key) seeded or passed to a call, for the view. */
  private readonly touched = new Map<string, Set<string>>();
  private seeded: Promise<void> | undefined;
  private readonly opts: KeyValueOptions;

  constructor(plugin: string, opts: KeyValueOptions = {}) {
    this.opts = opts;
    const namespaces = [...new Set([...(opts.namespaces ?? []), ...Object.keys(opts.seed ?? {}).filter((n) => n !== '')])];
    this.store = KeyValueStore.over(new MemoryBackend());
    this.inner = this.store.forPlugin(plugin, { ...opts.limits, namespaces });
    this.plugin = this.recording(this.inner);
  }

  /** Seeds once, before the first run. */
  ready(): Promise<void> {
    this.seeded ??= (async () => {
      for (const [ns, entries] of Object.entries(this.opts.seed ?? {})) {
        for (const [key, value] of Object.entries(entries)) {
          this.touch(ns, key);
          const r = await this.inner.set(FOREVER, ns, key, typeof value === 'string' ? encoder.encode(value) : value);
          if (!r.ok) throw new Error(`keyvalue.seed["${ns}"]["${key}"]: ${r.error.tag}: ${r.error.reason}`);
        }
      }
    })();
    return this.seeded;
  }

  async view(): Promise<KeyValueView> {
    const out: KeyValueView = {};
    for (const [ns, keys] of this.touched) {
      for (const key of keys) {
        const r = await this.inner.get(FOREVER, ns, key);
        if (r.ok && r.value !== undefined) (out[ns] ??= {})[key] = r.value;
      }
    }
    return out;
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private touch(ns: string, key: string): void {
    let keys = this.touched.get(ns);
    if (!keys) this.touched.set(ns, (keys = new Set()));
    keys.add(key);
  }

  /** The plugin's view, noting each key it names; down when `unavailable` is set. */
  private recording(kv: PluginKeyValue): PluginKeyValue {
    const down = this.opts.unavailable;
    const refuse = <T>(): Promise<KvResult<T>> => Promise.resolve({ ok: false, error: { tag: 'unavailable', reason: down! } });
    const note = (ns: string, key: string) => this.touch(ns, key);
    return {
      get: (s, ns, key) => (down !== undefined ? refuse() : kv.get(s, ns, key)),
      set: (s, ns, key, v, ttl) => (down !== undefined ? refuse() : (note(ns, key), kv.set(s, ns, key, v, ttl))),
      delete: (s, ns, key) => (down !== undefined ? refuse() : kv.delete(s, ns, key)),
      increment: (s, ns, key, d, ttl) => (down !== undefined ? refuse() : (note(ns, key), kv.increment(s, ns, key, d, ttl))),
      compareAndSwap: (s, ns, key, e, v, ttl) => (down !== undefined ? refuse() : (note(ns, key), kv.compareAndSwap(s, ns, key, e, v, ttl))),
    };
  }
}
