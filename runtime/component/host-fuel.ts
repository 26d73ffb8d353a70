/**
 * What a host import costs the guest in fuel. Fuel (fuel.ts) counts the guest's instructions;
 * the host's work inside an import (lifting, logging, the context store, a sub-request's checks
 * and its suspend/resume through JSPI) is invisible to it. Uncharged, a hook that calls `log` or
 * `context.get` in an endless loop ran 30-60 times past its CPU budget, and one that called
 * `http-subrequest` (denied at once) in a loop held its instance and the gateway's thread busy
 * for 40 s on a 50 ms budget. So each import call takes a fixed charge sized from the measured
 * host time per call, plus its bytes, out of the same global; past zero the call traps as a
 * spent budget (`cpu-budget`). See docs/isolation.md.
 */
import { GuestTrap } from './errors.ts';

// Measured on a loaded 2-core server whose calibrated rate (cpu-budget.ts) is 2.6 units/ns: each
// charge is about the host time of one call there, so a loop of imports stops near its budget.
/** Fuel per `context.get` or `context.set` call (about 0.7 µs of host time). */
export const HOST_CALL_FUEL = 2_000;
/** Fuel per `log` call, kept or dropped (about 1.5 µs: the rate check and the metric). */
export const LOG_FUEL = 4_000;
/** Fuel per sub-request, each element of `http-subrequest-all` too (about 35 µs for one denied at once: checks, record, JSPI suspend and resume). */
export const SUBREQUEST_FUEL = 100_000;

/** Fuel per `clock` call (about the host time of a context call: one clock read and a BigInt). */
export const CLOCK_FUEL = HOST_CALL_FUEL;

/** Fuel per `keyvalue` call (its JSPI suspend and resume, the checks and the store's own work; see docs/isolation.md). */
export const KV_FUEL = 20_000;

/** The fuel for `bytes` bytes crossing the boundary: lifting decodes or copies about a byte per unit. */
export function bytesFuel(bytes: number): number {
  return bytes >>> 1;
}

/**
 * Takes `units` from each of `globals` (one per core instance of the guest; the one whose code
 * called is among them). When any is left below zero the call traps as a spent CPU budget: the
 * binding reads a negative global as exactly that.
 */
export function chargeFuel(globals: readonly WebAssembly.Global[], units: number): void {
  let spent = false;
  for (const g of globals) {
    const left = Math.max(-0x8000_0000, (g.value as number) - units);
    g.value = left;
    if (left < 0) spent = true;
  }
  if (spent) throw new GuestTrap('the CPU budget ran out in host calls', { kind: 'cpu-budget' });
}
