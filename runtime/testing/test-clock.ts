/**
 * The test kit's clocks behind the `clock` import: the process's clocks plus an offset, or frozen
 * at a given time, and moved forward between runs by the test (`filter.clock.advance(60_000)`), so
 * a plugin's time windows can be stepped through without sleeping.
 */
import { type HostClock, SYSTEM_CLOCK } from '../component/host-clock.ts';

export interface ClockOptions {
  /** Freeze the wall clock at this many ms since the Unix epoch; it then moves only by `advance`/`set`. */
  nowMs?: number;
  /** Freeze the monotonic clock here too (default 0 when `nowMs` is given, else the process's). */
  monotonicMs?: number;
}

/** What a test holds: the clock the hooks read, and how to move it. */
export interface TestClockControl {
  nowMs(): number;
  monotonicMs(): number;
  /** Moves both clocks forward by `ms` (>= 0: a monotonic clock never goes back). */
  advance(ms: number): void;
  /** Sets the wall clock (it may go back, as a real one stepped by NTP can); the monotonic one is untouched. */
  set(nowMs: number): void;
}

function wholeMs(what: string, ms: number, min = 0): number {
  if (!Number.isSafeInteger(ms) || ms < min) throw new RangeError(`${what} must be a whole number of ms >= ${min} (got ${ms})`);
  return ms;
}

export class TestClock implements HostClock, TestClockControl {
  /** Frozen readings, or undefined to follow the process's clocks. */
  private wall: number | undefined;
  private mono: number | undefined;
  private wallOffset = 0;
  private monoOffset = 0;

  constructor(opts: ClockOptions = {}) {
    if (opts.nowMs !== undefined) {
      this.wall = wholeMs('clock.nowMs', opts.nowMs);
      this.mono = wholeMs('clock.monotonicMs', opts.monotonicMs ?? 0);
    } else if (opts.monotonicMs !== undefined) {
      this.mono = wholeMs('clock.monotonicMs', opts.monotonicMs);
    }
  }

  nowMs(): number {
    return (this.wall ?? SYSTEM_CLOCK.nowMs()) + this.wallOffset;
  }

  monotonicMs(): number {
    return (this.mono ?? SYSTEM_CLOCK.monotonicMs()) + this.monoOffset;
  }

  advance(ms: number): void {
    wholeMs('clock.advance', ms);
    this.wallOffset += ms;
    this.monoOffset += ms;
  }

  set(nowMs: number): void {
    wholeMs('clock.set', nowMs);
    if (this.wall !== undefined) this.wall = nowMs;
    this.wallOffset = this.wall !== undefined ? 0 : nowMs - SYSTEM_CLOCK.nowMs();
  }
}
