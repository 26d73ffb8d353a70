/**
 * The clocks behind the `clock` import (praxis:filter@0.2.0). Whole milliseconds on purpose: a
 * guest gets no finer timer than it needs for windows and durations (a fine one helps timing
 * side channels). The gateway reads the process's clocks; the test kit hands in its own
 * (runtime/testing/test-clock.ts) so plugin tests can move time.
 */
import type { HostCalls } from './types.ts';

export interface HostClock {
  /** Wall-clock ms since the Unix epoch. */
  nowMs(): number;
  /** Monotonic ms since an arbitrary start; never goes back. */
  monotonicMs(): number;
}

/** The process's clocks: `Date.now()`, and `performance.now()` (monotonic) cut to whole ms. */
export const SYSTEM_CLOCK: HostClock = {
  nowMs: () => Date.now(),
  monotonicMs: () => Math.floor(performance.now()),
};

/** The clock half of a HostCalls literal, on the system clock (spread it, as `noKeyValue`). */
export const systemClockCalls: Pick<HostCalls, 'clockNowMs' | 'clockMonotonicMs'> = {
  clockNowMs: SYSTEM_CLOCK.nowMs,
  clockMonotonicMs: SYSTEM_CLOCK.monotonicMs,
};

/** A clock reading as the WIT's u64: a whole, non-negative number of ms. */
export function clockU64(ms: number): bigint {
  return Number.isFinite(ms) && ms > 0 ? BigInt(Math.floor(ms)) : 0n;
}
