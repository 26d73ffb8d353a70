/**
 * Whether the gateway's memory is flat under load. What is judged is `retained`: the resident set
 * after a last-resort GC, which collects everything and also makes V8 hand back the free pages it
 * otherwise keeps for reuse (its page pool, and the young generation's pages). Those pages were
 * the soak's "native-memory creep": after an ordinary full GC the resident set crept up by a few
 * MiB a minute in 256 KiB steps (V8 heap pages mapped inside its cage) while the JS heap, the
 * old generation V8 reports and external memory stayed flat, and one last-resort GC gave all of
 * it back (docs/performance.md). That is garbage space V8 holds, not memory the gateway holds;
 * everything else (old space, code, wasm memories and instances, the allocator's native memory,
 * sockets, stacks) stays in the measure. What is left still warms up (code compiled, pools
 * filled), so the warm-up ends when it has settled: the first moment after SETTLE.minMs at which
 * every sample of the preceding window lies within SETTLE.tolerance of the others. From there to
 * the end it may not grow more than RSS_TOLERANCE (median of the first quarter against median of
 * the last); a process that has not settled by two thirds of the run fails outright, since a
 * steady leak never settles.
 */
import type { Sample } from './gateway-child.ts';

export const SETTLE = { minMs: 15_000, windowMs: 10_000, tolerance: 0.01 };
/** Growth allowed after warm-up: 5% unless SOAK_RSS_TOLERANCE_PCT says otherwise. */
export const RSS_TOLERANCE = rssTolerance(process.env.SOAK_RSS_TOLERANCE_PCT);

function rssTolerance(pct: string | undefined): number {
  if (pct === undefined) return 0.05;
  const n = Number(pct);
  if (!Number.isFinite(n) || n <= 0 || n > 100) {
    console.error(`SOAK_RSS_TOLERANCE_PCT must be a percentage in (0, 100], got ${JSON.stringify(pct)}`);
    process.exit(2);
  }
  return n / 100;
}

export interface WarmUp {
  /** ms from the first sample to the moment memory settled; undefined if it had not by `deadlineMs`. */
  settledMs: number | undefined;
  /** The samples judged for growth: from the settle point (or `deadlineMs`) to the end. */
  series: Sample[];
  /** The settle window's spread where it was last checked, for the report (max / min - 1). */
  spread: number;
}

const spreadOf = (xs: number[]): number => Math.max(...xs) / Math.min(...xs) - 1;

/** Resident memory once V8 has collected everything and given back its free pages: what the process holds. */
export const retained = (s: Sample): number => s.rssReleased;

/** Where the warm-up of `samples` (in time order, under load since `t0`) ends; it must end by `deadlineMs` after `t0`. */
export function warmUp(samples: Sample[], t0: number, deadlineMs: number, opts = SETTLE): WarmUp {
  let spread = Number.NaN;
  for (let i = 0; i < samples.length; i++) {
    const at = samples[i]!.at - t0;
    if (at > deadlineMs) break;
    if (at < opts.minMs) continue;
    // The window: every sample within windowMs before this one, and at least three of them.
    let from = i;
    while (from > 0 && (i - from < 2 || samples[i]!.at - samples[from - 1]!.at <= opts.windowMs)) from--;
    if (i - from < 2) continue;
    spread = spreadOf(samples.slice(from, i + 1).map(retained));
    if (spread <= opts.tolerance) return { settledMs: at, series: samples.slice(i), spread };
  }
  return { settledMs: undefined, series: samples.filter((s) => s.at - t0 >= deadlineMs), spread };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN;
};

/** Medians of the first and last quarter of the post-warm-up series, and the growth between them. */
export function retainedTrend(series: Sample[]): { early: number; late: number; growth: number } | undefined {
  if (series.length < 4) return undefined;
  const q = Math.max(1, Math.floor(series.length / 4));
  const early = median(series.slice(0, q).map(retained));
  const late = median(series.slice(-q).map(retained));
  return { early, late, growth: late / early - 1 };
}

export const mib = (b: number): number => Math.round(b / 2 ** 20);

/** What is wrong with the memory of a run (empty when nothing). */
export function memoryFailures(warm: WarmUp, deadlineMs: number): string[] {
  const failures: string[] = [];
  if (warm.settledMs === undefined) {
    failures.push(`memory: retained memory still moving ${(warm.spread * 100).toFixed(1)}% within ${SETTLE.windowMs / 1000} s at ${Math.round(deadlineMs / 1000)} s (two thirds of the run; settled means within ${SETTLE.tolerance * 100}%)`);
  }
  const trend = retainedTrend(warm.series);
  if (!trend) failures.push(`too few samples after warm-up (${warm.series.length}) to judge memory: run longer`);
  else if (trend.growth > RSS_TOLERANCE) {
    failures.push(`memory: retained memory grew ${(trend.growth * 100).toFixed(1)}% after warm-up (${mib(trend.early)} -> ${mib(trend.late)} MiB; bound ${RSS_TOLERANCE * 100}%)`);
  }
  return failures;
}
