/**
 * One store call bounded like a sub-request: it waits at most the backend's timeout, clamped
 * below what is left of the request's deadline (the request must still be able to answer), and
 * the request's abort ends the wait. A call that loses the race is left to finish in the
 * background; its answer is dropped.
 */
import { deadlineMargin } from '../subrequest/timeout.ts';
import { fail } from './backend.ts';
import type { KvCallScope, KvResult } from './types.ts';

/** The wait `timeoutMs` leaves before `scope.deadline`, or why the call must not start. */
export function callBudget(scope: KvCallScope, timeoutMs: number, now = Date.now()): number | KvResult<never> {
  if (scope.signal.aborted) return fail('unavailable', 'cancelled');
  const remaining = scope.deadline - now;
  const ms = Math.floor(Math.min(timeoutMs, remaining - deadlineMargin(remaining)));
  if (!(ms >= 1)) return fail('unavailable', 'the request deadline leaves no time for the call');
  return ms;
}

/** `work` raced against `budgetMs` and `signal`; a rejection of `work` is mapped by `onError`. */
export function bounded<T>(work: Promise<KvResult<T>>, budgetMs: number, signal: AbortSignal, onError: (err: unknown) => KvResult<T>): Promise<KvResult<T>> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: KvResult<T>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onAbort = () => finish(fail('unavailable', 'cancelled'));
    const timer = setTimeout(() => finish(fail('unavailable', `no answer within ${budgetMs} ms`)), budgetMs);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(finish, (err: unknown) => finish(onError(err)));
  });
}
