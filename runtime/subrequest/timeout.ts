/** Effective timeout of one sub-request, bounded by the parent request's deadline. */

export interface TimeoutInputs {
  guestMs: number | undefined;
  policyMs: number | undefined;
  defaultMs: number;
  parentDeadline: number;
  minUsefulMs: number;
  now: number;
}

/** Margin left before the parent's deadline so the parent can still answer: 10 ms or 5%. */
export function deadlineMargin(remainingMs: number): number {
  return Math.max(10, Math.ceil(remainingMs * 0.05));
}

/**
 * The guest's timeout, else the plugin's, else the default; clamped strictly below what is
 * left of the parent's deadline. Undefined when that leaves less than `minUsefulMs`: the
 * caller then fails fast with `timeout` without connecting.
 */
export function effectiveTimeout(t: TimeoutInputs): number | undefined {
  const wanted = t.guestMs ?? t.policyMs ?? t.defaultMs;
  const remaining = t.parentDeadline - t.now;
  const cap = remaining - deadlineMargin(remaining);
  const ms = Math.floor(Math.min(wanted, cap));
  if (!Number.isFinite(ms) || ms < t.minUsefulMs) return undefined;
  return ms;
}
