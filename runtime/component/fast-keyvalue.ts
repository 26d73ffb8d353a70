/**
 * The fast binding's `keyvalue` imports (praxis:filter@0.2.0). Each call suspends the guest
 * through JSPI while the store answers (the Redis backend is asynchronous, and the contract,
 * PluginKeyValue, is promise-shaped for every backend). Arguments are lifted and the return
 * area checked before the store is called: a guest passing a bad pointer, a bad tag or invalid
 * UTF-8 traps with nothing done. Store failures come back as kv-error values, never traps.
 */
import { GuestTrap } from './errors.ts';
import { KV_FUEL, bytesFuel } from './host-fuel.ts';
import type { GuestMemory } from './guest-memory.ts';
import {
  KV_RESULT_SIZE, KV_S64_RESULT_SIZE, liftTtl, lowerKvBool, lowerKvGet, lowerKvS64, lowerKvUnit,
} from './keyvalue-abi.ts';
import type { HostCalls } from './types.ts';

/** What the imports need from the instance: its memory synced, the hook's host, and its fuel. */
export interface KvImportState {
  /** The guest's memory, re-read after the guest ran. */
  memory(): GuestMemory;
  /** The host calls of the hook in flight (traps outside a hook). */
  host(): HostCalls;
  charge(units: number): void;
}

type Suspending = WebAssembly.ImportValue;
const suspending = (f: (...args: never[]) => Promise<void>): Suspending => new WebAssembly.Suspending(f) as unknown as Suspending;

export function keyvalueImports(s: KvImportState): WebAssembly.ModuleImports {
  /** The (store, key) pair every call starts with, charged with its bytes. */
  const names = (m: GuestMemory, sp: number, sl: number, kp: number, kl: number, extraBytes = 0): [string, string] => {
    const store = m.string(sp, sl);
    const key = m.string(kp, kl);
    s.charge(KV_FUEL + bytesFuel((sl >>> 0) + (kl >>> 0) + extraBytes));
    return [store, key];
  };
  return {
    get: suspending(async (sp: number, sl: number, kp: number, kl: number, ret: number) => {
      const m = s.memory();
      const at = m.area(ret, KV_RESULT_SIZE, 4);
      const [store, key] = names(m, sp, sl, kp, kl);
      const r = await s.host().kvGet(store, key);
      lowerKvGet(s.memory(), at, r);
    }),
    set: suspending(async (sp: number, sl: number, kp: number, kl: number, vp: number, vl: number, tt: number, tv: number, ret: number) => {
      const m = s.memory();
      const at = m.area(ret, KV_RESULT_SIZE, 4);
      const ttl = liftTtl(tt, tv);
      const value = m.bytes(vp, vl);
      const [store, key] = names(m, sp, sl, kp, kl, value.byteLength);
      const r = await s.host().kvSet(store, key, value, ttl);
      lowerKvUnit(s.memory(), at, r);
    }),
    delete: suspending(async (sp: number, sl: number, kp: number, kl: number, ret: number) => {
      const m = s.memory();
      const at = m.area(ret, KV_RESULT_SIZE, 4);
      const [store, key] = names(m, sp, sl, kp, kl);
      const r = await s.host().kvDelete(store, key);
      lowerKvBool(s.memory(), at, r);
    }),
    increment: suspending(async (sp: number, sl: number, kp: number, kl: number, delta: bigint, tt: number, tv: number, ret: number) => {
      const m = s.memory();
      const at = m.area(ret, KV_S64_RESULT_SIZE, 8);
      const ttl = liftTtl(tt, tv);
      const [store, key] = names(m, sp, sl, kp, kl);
      const r = await s.host().kvIncrement(store, key, BigInt.asIntN(64, delta), ttl);
      lowerKvS64(s.memory(), at, r);
    }),
    'compare-and-swap': suspending(async (
      sp: number, sl: number, kp: number, kl: number, et: number, ep: number, el: number, vp: number, vl: number, tt: number, tv: number, ret: number,
    ) => {
      const m = s.memory();
      const at = m.area(ret, KV_RESULT_SIZE, 4);
      const ttl = liftTtl(tt, tv);
      const expected = liftOptionBytesFlat(m, et, ep, el);
      const value = m.bytes(vp, vl);
      const [store, key] = names(m, sp, sl, kp, kl, value.byteLength + (expected?.byteLength ?? 0));
      const r = await s.host().kvCompareAndSwap(store, key, expected, value, ttl);
      lowerKvBool(s.memory(), at, r);
    }),
  };
}

/** `option<list<u8>>` from its three flattened parameters. */
function liftOptionBytesFlat(m: GuestMemory, tag: number, p: number, l: number): Uint8Array | undefined {
  if (tag === 0) return undefined;
  if (tag !== 1) throw new GuestTrap(`invalid option tag ${tag}`);
  return m.bytes(p, l);
}
