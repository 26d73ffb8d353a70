/**
 * The gateway's key-value store: one backend (memory or redis) for the gateway's lifetime, and a
 * `PluginKeyValue` per plugin that applies the plugin's namespace grants and size bounds before
 * any call reaches the backend, and counts every call. Views are cheap and may be rebuilt on a
 * config reload; the backend (and so the data) outlives them, until `close()`.
 */
import type { Logger } from 'pino';
import type { KeyValueConfig, PluginKeyValueConfig } from '../config/types.ts';
import { type KvBackend, type KvOwner, fail } from './backend.ts';
import { callBudget } from './bound.ts';
import { MemoryBackend } from './memory.ts';
import { NamespaceGrants } from './namespaces.ts';
import type { KvCallScope, KvResult, PluginKeyValue } from './types.ts';

export type KvOp = 'get' | 'set' | 'delete' | 'increment' | 'compare_and_swap';

/** Where each call's outcome (`ok` or the error's tag) and duration go (the gateway's metrics). */
export interface KvObserver {
  keyvalue(plugin: string, op: KvOp, outcome: string, seconds: number): void;
}

export const DEFAULT_PLUGIN_KV = { maxKeyBytes: 256, maxValueBytes: 64 * 1024, maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 } as const;

export class KeyValueStore {
  readonly backend: KvBackend;

  private constructor(backend: KvBackend) {
    this.backend = backend;
  }

  static async open(config: KeyValueConfig | undefined, logger: Logger): Promise<KeyValueStore> {
    if (config?.backend === 'redis') {
      // Loaded only for this backend: the Redis client defines a subclass of String
      // (@redis/client's VerbatimString), and from then on V8 runs some String.prototype methods
      // (charCodeAt above all) on a slow path in the whole process. The hook path no longer uses
      // them (a guest hook call costs the same with the subclass loaded), but an unused client
      // is still not worth its load time and memory. See docs/performance.md.
      const { DEFAULT_REDIS, RedisBackend } = await import('./redis.ts');
      return new KeyValueStore(await RedisBackend.open({ ...DEFAULT_REDIS, ...config.redis }, logger.child({ component: 'keyvalue' })));
    }
    return new KeyValueStore(new MemoryBackend(config?.memory));
  }

  /** A store over a backend the caller made (tests, benches). */
  static over(backend: KvBackend): KeyValueStore {
    return new KeyValueStore(backend);
  }

  forPlugin(name: string, config?: PluginKeyValueConfig, observer?: KvObserver): PluginKeyValue {
    return new PluginView(this.backend, name, config ?? {}, observer);
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

const encoder = new TextEncoder();

class PluginView implements PluginKeyValue {
  private readonly backend: KvBackend;
  private readonly grants: NamespaceGrants;
  private readonly owner: KvOwner;
  private readonly maxKeyBytes: number;
  private readonly maxValueBytes: number;
  private readonly observer: KvObserver | undefined;

  constructor(backend: KvBackend, name: string, config: PluginKeyValueConfig, observer: KvObserver | undefined) {
    this.backend = backend;
    this.grants = new NamespaceGrants(name, config.namespaces);
    this.owner = { name, maxEntries: config.maxEntries ?? DEFAULT_PLUGIN_KV.maxEntries, maxBytes: config.maxBytes ?? DEFAULT_PLUGIN_KV.maxBytes };
    this.maxKeyBytes = config.maxKeyBytes ?? DEFAULT_PLUGIN_KV.maxKeyBytes;
    this.maxValueBytes = config.maxValueBytes ?? DEFAULT_PLUGIN_KV.maxValueBytes;
    this.observer = observer;
  }

  get(scope: KvCallScope, namespace: string, key: string): Promise<KvResult<Uint8Array | undefined>> {
    return this.run('get', scope, namespace, key, undefined, (k) => this.backend.get(scope, k));
  }

  set(scope: KvCallScope, namespace: string, key: string, value: Uint8Array, ttlMs?: number): Promise<KvResult<void>> {
    return this.run('set', scope, namespace, key, value, (k) => this.backend.set(scope, this.owner, k, value, ttl(ttlMs)));
  }

  delete(scope: KvCallScope, namespace: string, key: string): Promise<KvResult<boolean>> {
    return this.run('delete', scope, namespace, key, undefined, (k) => this.backend.delete(scope, k));
  }

  increment(scope: KvCallScope, namespace: string, key: string, delta: bigint, ttlMs?: number): Promise<KvResult<bigint>> {
    return this.run('increment', scope, namespace, key, undefined, (k) => this.backend.increment(scope, this.owner, k, delta, ttl(ttlMs)));
  }

  compareAndSwap(scope: KvCallScope, namespace: string, key: string, expected: Uint8Array | undefined, value: Uint8Array, ttlMs?: number): Promise<KvResult<boolean>> {
    // `expected` is bounded as a value is: it is sent to the backend too (a plugin must not push
    // its whole memory to Redis per call), and no value the plugin may write could match it.
    const sized = expected !== undefined && expected.byteLength > value.byteLength ? expected : value;
    return this.run('compare_and_swap', scope, namespace, key, sized, (k) => this.backend.compareAndSwap(scope, this.owner, k, expected, value, ttl(ttlMs)));
  }

  /** Grants, sizes and the request's scope are checked before the backend is asked; every call is counted. */
  private async run<T>(op: KvOp, scope: KvCallScope, namespace: string, key: string, value: Uint8Array | undefined, call: (fullKey: string) => Promise<KvResult<T>>): Promise<KvResult<T>> {
    const started = performance.now();
    const result = await this.check(scope, namespace, key, value, call);
    this.observer?.keyvalue(this.owner.name, op, result.ok ? 'ok' : result.error.tag, (performance.now() - started) / 1000);
    return result;
  }

  private check<T>(scope: KvCallScope, namespace: string, key: string, value: Uint8Array | undefined, call: (fullKey: string) => Promise<KvResult<T>>): Promise<KvResult<T>> | KvResult<T> {
    const prefix = this.grants.prefix(namespace);
    if (!prefix.ok) return prefix;
    const keyBytes = encoder.encode(key).byteLength;
    if (keyBytes > this.maxKeyBytes) return fail('limit', `key of ${keyBytes} bytes exceeds maxKeyBytes (${this.maxKeyBytes})`);
    if (value && value.byteLength > this.maxValueBytes) return fail('limit', `value of ${value.byteLength} bytes exceeds maxValueBytes (${this.maxValueBytes})`);
    // The request must still be live with time to answer, whatever the backend (bound.ts).
    const budget = callBudget(scope, Number.MAX_SAFE_INTEGER);
    if (typeof budget !== 'number') return budget;
    return call(prefix.value + key);
  }
}

/** A TTL of 0 would be refused by Redis and would expire at once in memory: the shortest is 1 ms. */
const ttl = (ttlMs: number | undefined) => (ttlMs === undefined ? undefined : Math.max(1, Math.floor(ttlMs)));
