// State across requests: the keyvalue import of praxis:filter@0.2.0 (docs/keyvalue.md).
// Every call answers a KvResult: a value, or a KvError when the store could not do it (never a
// trap), so the filter decides what an unavailable store means for its request.
import { liftBytes, liftString, allocZeroed } from "./abi";

// @ts-ignore: decorator
@external("praxis:filter/keyvalue@0.2.0", "get")
declare function _get(sp: usize, sl: usize, kp: usize, kl: usize, ret: usize): void;
// @ts-ignore: decorator
@external("praxis:filter/keyvalue@0.2.0", "set")
declare function _set(sp: usize, sl: usize, kp: usize, kl: usize, vp: usize, vl: usize, tt: u32, tv: u32, ret: usize): void;
// @ts-ignore: decorator
@external("praxis:filter/keyvalue@0.2.0", "delete")
declare function _delete(sp: usize, sl: usize, kp: usize, kl: usize, ret: usize): void;
// @ts-ignore: decorator
@external("praxis:filter/keyvalue@0.2.0", "increment")
declare function _increment(sp: usize, sl: usize, kp: usize, kl: usize, delta: i64, tt: u32, tv: u32, ret: usize): void;
// @ts-ignore: decorator
@external("praxis:filter/keyvalue@0.2.0", "compare-and-swap")
declare function _cas(sp: usize, sl: usize, kp: usize, kl: usize, et: u32, ep: usize, el: usize, vp: usize, vl: usize, tt: u32, tv: u32, ret: usize): void;

// kv-error cases, in WIT order.
export const KV_UNAVAILABLE: u8 = 0;
export const KV_LIMIT: u8 = 1;
export const KV_DENIED: u8 = 2;
export const KV_INVALID: u8 = 3;

const KV_ERROR_NAMES: string[] = ["unavailable", "limit", "denied", "invalid"];

export class KvError {
  constructor(public tag: u8, public reason: string) {}
  /** The WIT case name, e.g. "unavailable". */
  get name(): string {
    return this.tag < <u8>KV_ERROR_NAMES.length ? KV_ERROR_NAMES[this.tag] : "unknown";
  }
  toString(): string {
    return this.name + ": " + this.reason;
  }
}

/** A store call's answer: `value` when `ok`, else `error` (and `value` is the type's zero). */
export class KvResult<T> {
  constructor(public value: T, public error: KvError | null) {}
  get ok(): bool {
    return this.error === null;
  }
}

/** kv-error (12 bytes) at `at`: case @0, reason @4. */
function liftError(at: usize): KvError {
  return new KvError(load<u8>(at), liftString(load<u32>(at, 4), load<u32>(at, 8)));
}

/** The 16-byte results: tag @0, payload (or kv-error) @4. */
function failed(ret: usize): KvError | null {
  return load<u8>(ret) == 0 ? null : liftError(ret + 4);
}

/** A class of static calls rather than a namespace, so the WIT name `delete` can be a member. */
export abstract class keyvalue {
  /** The value at `key` in `store` ("" is the plugin's own namespace), or null when there is none. */
  static get(store: string, key: string): KvResult<Uint8Array | null> {
    const s = String.UTF8.encode(store, false, String.UTF8.ErrorMode.REPLACE);
    const k = String.UTF8.encode(key, false, String.UTF8.ErrorMode.REPLACE);
    const ret = allocZeroed(16);
    _get(changetype<usize>(s), <usize>s.byteLength, changetype<usize>(k), <usize>k.byteLength, ret);
    const err = failed(ret);
    if (err !== null) return new KvResult<Uint8Array | null>(null, err);
    let value: Uint8Array | null = null;
    if (load<u8>(ret, 4) != 0) value = liftBytes(load<u32>(ret, 8), load<u32>(ret, 12));
    return new KvResult<Uint8Array | null>(value, null);
  }

  /** The value as UTF-8 text (null when absent). */
  static getString(store: string, key: string): KvResult<string | null> {
    const r = keyvalue.get(store, key);
    const v = r.value;
    return new KvResult<string | null>(v === null ? null : String.UTF8.decode(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)), r.error);
  }

  /** Stores `value` at `key`; `ttlMs` 0 keeps it until it is deleted or evicted. `value` is true when it was stored. */
  static set(store: string, key: string, value: Uint8Array, ttlMs: u32 = 0): KvResult<bool> {
    const s = String.UTF8.encode(store, false, String.UTF8.ErrorMode.REPLACE);
    const k = String.UTF8.encode(key, false, String.UTF8.ErrorMode.REPLACE);
    const ret = allocZeroed(16);
    _set(changetype<usize>(s), <usize>s.byteLength, changetype<usize>(k), <usize>k.byteLength, value.dataStart, <usize>value.length, ttlMs > 0 ? 1 : 0, ttlMs, ret);
    const err = failed(ret);
    return new KvResult<bool>(err === null, err);
  }

  static setString(store: string, key: string, value: string, ttlMs: u32 = 0): KvResult<bool> {
    return keyvalue.set(store, key, Uint8Array.wrap(String.UTF8.encode(value, false, String.UTF8.ErrorMode.REPLACE)), ttlMs);
  }

  /** Removes `key`; `value` is true when there was one. */
  static delete(store: string, key: string): KvResult<bool> {
    const s = String.UTF8.encode(store, false, String.UTF8.ErrorMode.REPLACE);
    const k = String.UTF8.encode(key, false, String.UTF8.ErrorMode.REPLACE);
    const ret = allocZeroed(16);
    _delete(changetype<usize>(s), <usize>s.byteLength, changetype<usize>(k), <usize>k.byteLength, ret);
    const err = failed(ret);
    return new KvResult<bool>(err === null && load<u8>(ret, 4) != 0, err);
  }

  /**
   * Adds `delta` to the integer at `key` (absent counts as 0); `value` is the new count. `ttlMs`
   * (0: none) applies only when the key is created. Counters are decimal ASCII digits.
   */
  static increment(store: string, key: string, delta: i64, ttlMs: u32 = 0): KvResult<i64> {
    const s = String.UTF8.encode(store, false, String.UTF8.ErrorMode.REPLACE);
    const k = String.UTF8.encode(key, false, String.UTF8.ErrorMode.REPLACE);
    const ret = allocZeroed(24); // result<s64, kv-error>: 8-aligned (the arena's blocks are 16-aligned), payload @8
    _increment(changetype<usize>(s), <usize>s.byteLength, changetype<usize>(k), <usize>k.byteLength, delta, ttlMs > 0 ? 1 : 0, ttlMs, ret);
    if (load<u8>(ret) != 0) return new KvResult<i64>(0, liftError(ret + 8));
    return new KvResult<i64>(load<i64>(ret, 8), null);
  }

  /** Writes `value` only if the current value equals `expected` (null: the key is absent); `value` is true when it wrote. */
  static compareAndSwap(store: string, key: string, expected: Uint8Array | null, value: Uint8Array, ttlMs: u32 = 0): KvResult<bool> {
    const s = String.UTF8.encode(store, false, String.UTF8.ErrorMode.REPLACE);
    const k = String.UTF8.encode(key, false, String.UTF8.ErrorMode.REPLACE);
    const ret = allocZeroed(16);
    const ep: usize = expected === null ? 0 : expected.dataStart;
    const el: usize = expected === null ? 0 : <usize>expected.length;
    _cas(changetype<usize>(s), <usize>s.byteLength, changetype<usize>(k), <usize>k.byteLength, expected === null ? 0 : 1, ep, el, value.dataStart, <usize>value.length, ttlMs > 0 ? 1 : 0, ttlMs, ret);
    const err = failed(ret);
    return new KvResult<bool>(err === null && load<u8>(ret, 4) != 0, err);
  }
}
