// The host's clocks: the clock import of praxis:filter@0.2.0 (docs/wit.md). Whole milliseconds:
// the host gives no finer timer on purpose. Both calls are synchronous and never fail.

// @ts-ignore: decorator
@external("praxis:filter/clock@0.2.0", "now-ms")
declare function _nowMs(): u64;
// @ts-ignore: decorator
@external("praxis:filter/clock@0.2.0", "monotonic-ms")
declare function _monotonicMs(): u64;

export namespace clock {
  /** Wall-clock time: ms since the Unix epoch (the same time base for every gateway, e.g. shared windows). */
  export function nowMs(): u64 {
    return _nowMs();
  }

  /** Monotonic ms since an arbitrary start; never goes back (for durations inside one gateway). */
  export function monotonicMs(): u64 {
    return _monotonicMs();
  }
}
