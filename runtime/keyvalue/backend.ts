/**
 * What a store backend (`memory`, `redis`) offers the per-plugin views built by store.ts: the
 * five operations on full keys (namespace already applied, sizes already checked), each charged
 * to an owner. Like `PluginKeyValue`, a backend never throws: every failure is a `KvError` value.
 */
import type { KvCallScope, KvResult } from './types.ts';

/** The plugin a write is charged to, with its bounds on what it may hold (memory backend). */
export interface KvOwner {
  readonly name: string;
  readonly maxEntries: number;
  readonly maxBytes: number;
}

export interface KvBackend {
  readonly kind: 'memory' | 'redis';
  get(scope: KvCallScope, key: string): Promise<KvResult<Uint8Array | undefined>>;
  set(scope: KvCallScope, owner: KvOwner, key: string, value: Uint8Array, ttlMs?: number): Promise<KvResult<void>>;
  delete(scope: KvCallScope, key: string): Promise<KvResult<boolean>>;
  increment(scope: KvCallScope, owner: KvOwner, key: string, delta: bigint, ttlMs?: number): Promise<KvResult<bigint>>;
  compareAndSwap(scope: KvCallScope, owner: KvOwner, key: string, expected: Uint8Array | undefined, value: Uint8Array, ttlMs?: number): Promise<KvResult<boolean>>;
  close(): Promise<void>;
}

export const ok = <T>(value: T): KvResult<T> => ({ ok: true, value });
export const fail = (tag: 'unavailable' | 'limit' | 'denied' | 'invalid', reason: string): { ok: false; error: { tag: typeof tag; reason: string } } =>
  ({ ok: false, error: { tag, reason } });

const S64_MIN = -(2n ** 63n);
const S64_MAX = 2n ** 63n - 1n;
const DIGITS = /^-?[0-9]{1,20}$/;
const decoder = new TextDecoder('utf-8', { fatal: false });
const encoder = new TextEncoder();

/** A counter's stored form is its decimal ASCII digits (as Redis INCRBY keeps it). */
export function parseCounter(bytes: Uint8Array): bigint | undefined {
  const text = decoder.decode(bytes);
  if (!DIGITS.test(text)) return undefined;
  const n = BigInt(text);
  return n < S64_MIN || n > S64_MAX ? undefined : n;
}

export function counterBytes(n: bigint): Uint8Array {
  return encoder.encode(n.toString());
}

export function inS64(n: bigint): boolean {
  return n >= S64_MIN && n <= S64_MAX;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
