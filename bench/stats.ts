/** Shared result shape and percentile helpers for the benchmarks. */
export interface Scenario {
  p50_us: number;
  p99_us: number;
  ops_per_s: number;
  [extra: string]: number | string | undefined;
}

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** p50/p99 of per-operation microseconds, with a throughput measured by the caller. */
export function summarize(us: number[], opsPerS: number, extra: Record<string, number | string> = {}): Scenario {
  const sorted = Float64Array.from(us).sort();
  return {
    p50_us: round(percentile(Array.from(sorted), 0.5)),
    p99_us: round(percentile(Array.from(sorted), 0.99)),
    ops_per_s: Math.round(opsPerS),
    samples: us.length,
    ...extra,
  };
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  const n = v === undefined ? Number.NaN : Number(v);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
