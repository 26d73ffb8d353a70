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

/** One scenario from several rounds of it: the median of each numeric field, with the CPU spread. */
export function medianScenario(rounds: Scenario[]): Scenario {
  const out: Scenario = { p50_us: 0, p99_us: 0, ops_per_s: 0 };
  const fields = new Set(rounds.flatMap((r) => Object.keys(r)));
  for (const f of fields) {
    const vs = rounds.map((r) => r[f]).filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
    if (vs.length) out[f] = vs[Math.floor((vs.length - 1) / 2)]!;
  }
  const cpu = rounds.map((r) => r.cpu_us_per_req).filter((v): v is number => typeof v === 'number');
  if (rounds.length > 1) out.rounds = rounds.length;
  if (cpu.length > 1) out.cpu_range = `${Math.min(...cpu)}-${Math.max(...cpu)}`;
  return out;
}
