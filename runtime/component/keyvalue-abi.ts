/**
 * Lowering of the `keyvalue` interface's results (praxis:filter@0.2.0; layouts in docs/abi.md).
 * Every result is written into an area the guest passed (its return pointer), checked before
 * the store is called so a bad pointer traps with nothing done:
 * - 16 bytes, 4-aligned: `result<option<list<u8>>, kv-error>`, `result<_, kv-error>`,
 *   `result<bool, kv-error>` (tag @0, payload or kv-error @4);
 * - 24 bytes, 8-aligned: `result<s64, kv-error>` (tag @0, s64 or kv-error @8).
 * A kv-error is 12 bytes: case @0, reason string @4.
 */
import { GuestTrap } from './errors.ts';
import type { GuestMemory } from './guest-memory.ts';
import { lowerOptionBytes } from './praxis-abi.ts';
import type { KvError, KvResult } from './types.ts';

export const KV_ERROR_TAGS: readonly KvError['tag'][] = ['unavailable', 'limit', 'denied', 'invalid'];
export const KV_RESULT_SIZE = 16;
export const KV_S64_RESULT_SIZE = 24;

function lowerError(mem: GuestMemory, at: number, err: KvError): void {
  const tag = KV_ERROR_TAGS.indexOf(err.tag);
  if (tag < 0) throw new GuestTrap(`invalid kv-error tag ${String(err.tag)}`);
  const p = mem.putString(err.reason); // allocates first: the writes below see the grown memory
  mem.setU8(at, tag);
  mem.setPair(at + 4, p, mem.len);
}

/** Writes `result<T, kv-error>`: `ok` lowers the value at the payload's offset. */
function lowerResult<T>(mem: GuestMemory, ret: number, r: KvResult<T>, payload: number, ok: (at: number, value: T) => void): void {
  if (r.ok) {
    ok(ret + payload, r.value);
    mem.setU8(ret, 0);
    return;
  }
  lowerError(mem, ret + payload, r.error);
  mem.setU8(ret, 1);
}

export function lowerKvGet(mem: GuestMemory, ret: number, r: KvResult<Uint8Array | undefined>): void {
  lowerResult(mem, ret, r, 4, (at, v) => lowerOptionBytes(mem, at, v));
}

export function lowerKvUnit(mem: GuestMemory, ret: number, r: KvResult<void>): void {
  lowerResult(mem, ret, r, 4, () => {});
}

export function lowerKvBool(mem: GuestMemory, ret: number, r: KvResult<boolean>): void {
  lowerResult(mem, ret, r, 4, (at, v) => mem.setU8(at, v ? 1 : 0));
}

export function lowerKvS64(mem: GuestMemory, ret: number, r: KvResult<bigint>): void {
  lowerResult(mem, ret, r, 8, (at, v) => mem.setI64(at, v));
}

/** An `option<u32>` TTL from its two flattened parameters. */
export function liftTtl(tag: number, value: number): number | undefined {
  if (tag === 0) return undefined;
  if (tag !== 1) throw new GuestTrap(`invalid option tag ${tag}`);
  return value >>> 0;
}
