/**
 * The key-value contract between the guest bindings (the `keyvalue` interface of
 * wit/praxis.wit, praxis:filter@0.2.0) and the store backends (`memory`, `redis`).
 * A store call never traps the guest: every failure is a `KvError` value.
 */

/** Mirrors the WIT `kv-error` variant. */
export type KvError =
  /** The backend is down, did not answer within the call's bound, or the request was cancelled. */
  | { tag: 'unavailable'; reason: string }
  /** A bound was exceeded: key or value size, entries or bytes held by the plugin. */
  | { tag: 'limit'; reason: string }
  /** The named namespace is not granted to this plugin. */
  | { tag: 'denied'; reason: string }
  /** The operation does not fit the stored value (increment on a value that is not an integer). */
  | { tag: 'invalid'; reason: string };

export type KvResult<T> = { ok: true; value: T } | { ok: false; error: KvError };

/** What bounds one store call: the request's deadline (ms since epoch) and its cancellation. */
export interface KvCallScope {
  readonly deadline: number;
  readonly signal: AbortSignal;
}

/**
 * The store as one plugin sees it. `namespace` "" is the plugin's own; any other name must be
 * granted to the plugin in its config (`plugins.<name>.keyvalue.namespaces`), else `denied`.
 * Counters are stored as decimal ASCII integers (as Redis INCRBY does), so `get` on a counter
 * returns its digits. TTLs are in milliseconds; `undefined` keeps the entry until deleted or evicted.
 */
export interface PluginKeyValue {
  get(scope: KvCallScope, namespace: string, key: string): Promise<KvResult<Uint8Array | undefined>>;
  set(scope: KvCallScope, namespace: string, key: string, value: Uint8Array, ttlMs?: number): Promise<KvResult<void>>;
  delete(scope: KvCallScope, namespace: string, key: string): Promise<KvResult<boolean>>;
  /** Adds `delta` to the integer at `key` (absent counts as 0); `ttlMs` applies only when the key is created. */
  increment(scope: KvCallScope, namespace: string, key: string, delta: bigint, ttlMs?: number): Promise<KvResult<bigint>>;
  /** Writes `value` only if the current value equals `expected` (`undefined`: the key is absent). */
  compareAndSwap(scope: KvCallScope, namespace: string, key: string, expected: Uint8Array | undefined, value: Uint8Array, ttlMs?: number): Promise<KvResult<boolean>>;
}
