/**
 * What the soak asserts: every checked request answered once with its body and forwarded once;
 * every other client answered (or gone on purpose); nothing held once the load stops (pool
 * instances, sub-requests, exchanges, descriptors); resident memory flat after warm-up.
 */
import type { Sample } from './gateway-child.ts';
import type { TrafficStats } from './load.ts';

export interface SoakRun {
  traffic: Map<string, TrafficStats>;
  /** How many times the well-behaved upstream saw each request id. */
  forwarded: Map<string, number>;
  /** Quiescent, before any load. */
  start: Sample;
  /** Samples taken under load after warm-up. */
  series: Sample[];
  /** Quiescent, after the load stopped and idle connections closed. */
  final: Sample;
}

/** Descriptors the gateway may hold beyond its idle start (lazily opened, not per request). */
export const FD_SLACK = 4;
export const RSS_TOLERANCE = 0.05;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN;
};

/** Medians of the first and last quarter of the post-warm-up series, and the growth between them. */
export function rssTrend(series: Sample[]): { early: number; late: number; growth: number } | undefined {
  if (series.length < 4) return undefined;
  const q = Math.max(1, Math.floor(series.length / 4));
  const early = median(series.slice(0, q).map((s) => s.rss));
  const late = median(series.slice(-q).map((s) => s.rss));
  return { early, late, growth: late / early - 1 };
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
  if (f.fds > run.start.fds + FD_SLACK) {
    failures.push(`leak: ${f.fds} open descriptors at rest after the soak, ${run.start.fds} before it (now: ${JSON.stringify(f.fdKinds)}, before: ${JSON.stringify(run.start.fdKinds)})`);
  }
  const trend = rssTrend(run.series);
  if (!trend) failures.push(`too few samples after warm-up (${run.series.length}) to judge memory: run longer`);
  else if (trend.growth > RSS_TOLERANCE) {
    failures.push(`memory: resident set grew ${(trend.growth * 100).toFixed(1)}% after warm-up (${mib(trend.early)} -> ${mib(trend.late)} MiB; bound ${RSS_TOLERANCE * 100}%)`);
  }
  return failures;
}

export const mib = (b: number): number => Math.round(b / 2 ** 20);

/** Descriptor kinds open at rest that were not open (as many times) at the start. */
export function fdDelta(start: Record<string, number>, now: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(now)) if (n > (start[k] ?? 0)) out[k] = n - (start[k] ?? 0);
  return out;
}
