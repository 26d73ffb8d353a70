/** Store-level test helpers: a request scope, a store on either backend, bytes as text. */
import pino from 'pino';
import type { KeyValueConfig } from '../../runtime/config/types.ts';
import { KeyValueStore } from '../../runtime/keyvalue/store.ts';
import type { KvCallScope, KvResult } from '../../runtime/keyvalue/types.ts';

export const silent = pino({ level: 'silent' });

export function scope(ms = 10_000, signal: AbortSignal = new AbortController().signal): KvCallScope {
  return { deadline: Date.now() + ms, signal };
}

export const bytes = (text: string) => new TextEncoder().encode(text);
export const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

let prefixes = 0;
/** A store on `backend`; on Redis every store gets its own key prefix, so tests never share keys. */
export function openStore(backend: 'memory' | 'redis', url: string | undefined, extra: KeyValueConfig = {}): Promise<KeyValueStore> {
  if (backend === 'memory') return KeyValueStore.open({ backend, ...extra }, silent);
  return KeyValueStore.open({ backend, redis: { url: url!, keyPrefix: `t${process.pid}-${++prefixes}:`, timeoutMs: 1000, ...extra.redis } }, silent);
}

/** The value of a result that must be ok. */
export function value<T>(r: KvResult<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.tag}: ${r.error.reason}`);
  return r.value;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
