/**
 * What the soak asserts: every checked request answered once with its body and forwarded once;
 * every other client answered (or gone on purpose); nothing held once the load stops (pool
 * instances, sub-requests, exchanges, descriptors); resident memory flat after warm-up (memory.ts).
 */
import type { Sample } from './gateway-child.ts';
import type { TrafficStats } from './load.ts';
import { memoryFailures, type WarmUp } from './memory.ts';

export interface SoakRun {
  traffic: Map<string, TrafficStats>;
  /** How many times the well-behaved upstream saw each request id. */
  forwarded: Map<string, number>;
  /** Quiescent, before any load. */
  start: Sample;
  /** Where the warm-up ended, and the samples under load after it. */
  warm: WarmUp;
  /** By when (ms into the load) memory had to settle. */
  settleDeadlineMs: number;
  /** Quiescent, after the load stopped and idle connections closed. */
  final: Sample;
}

/**
 * Descriptors the gateway may hold beyond its idle start (lazily opened, not per request). Not
 * connections: a connection open at rest that was not open at the start is a leak, whatever
 * the count (the slack once hid five of them).
 */
export const FD_SLACK = 4;

/** TCP connections (not listeners) open in `now` beyond those open in `start`, as "state port->port". */
export function heldSockets(start: Sample, now: Sample): string[] {
  return Object.entries(fdDelta(start.fdKinds, now.fdKinds))
    .filter(([k]) => k.startsWith('socket ') && !k.startsWith('socket listen') && k !== 'socket (not tcp)')
    .flatMap(([k, n]) => Array<string>(n).fill(k.slice('socket '.length)));
}

/** Whether the gateway at rest holds no more than it did at the start. */
export function atRest(start: Sample, now: Sample): boolean {
  return now.fds <= start.fds + FD_SLACK && heldSockets(start, now).length === 0;
}

export function verdict(run: SoakRun): string[] {
  const failures: string[] = [];
  for (const [name, s] of run.traffic) {
    if (s.sent === 0) failures.push(`${name}: no request was sent`);
    for (const f of s.failures) failures.push(`${name}: ${f}`);
    if (!name.startsWith('checked/')) continue;
    if (s.answered.length === 0) failures.push(`${name}: no request was answered correctly`);
    for (const id of s.answered) {
      const n = run.forwarded.get(id) ?? 0;
      if (name !== 'checked/slow-body' && n !== 1) failures.push(`${name}: ${id} reached the upstream ${n} times`);
    }
  }
  const f = run.final;
  if (f.borrowed !== 0) failures.push(`leak: ${f.borrowed} pool instance(s) still lent out after the load stopped`);
  if (f.pending !== 0) failures.push(`leak: ${f.pending} call(s) still queued for an instance`);
  if (f.subrequestsInFlight !== 0) failures.push(`leak: ${f.subrequestsInFlight} sub-request(s) still in flight`);
  if (f.exchangesInFlight !== undefined && f.exchangesInFlight !== 0) failures.push(`leak: ${f.exchangesInFlight} exchange(s) still running`);
  const sockets = heldSockets(run.start, f);
  if (sockets.length) failures.push(`leak: ${sockets.length} connection(s) open at rest that were not before the load: ${sockets.join(', ')}`);
  if (f.fds > run.start.fds + FD_SLACK) {
    failures.push(`leak: ${f.fds} open descriptors at rest after the soak, ${run.start.fds} before it (now: ${JSON.stringify(f.fdKinds)}, before: ${JSON.stringify(run.start.fdKinds)})`);
  }
  failures.push(...memoryFailures(run.warm, run.settleDeadlineMs));
  return failures;
}

/** Descriptor kinds open at rest that were not open (as many times) at the start. */
export function fdDelta(start: Record<string, number>, now: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(now)) if (n > (start[k] ?? 0)) out[k] = n - (start[k] ?? 0);
  return out;
}
