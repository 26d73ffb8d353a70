/**
 * Latency under load: the wasm chain's p50/p99 at 50% and 90% of the no-filter gateway's measured
 * maximum throughput, with a fixed-rate (open-loop) load of our own (open-loop-runner.ts: undici,
 * latency from each request's scheduled send time, so no coordinated omission). wrk2 is not
 * packaged by Debian, and autocannon's overallRate measures from the actual send.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadJob } from './load.ts';
import { closedLoad } from './load.ts';
import { startServer } from './servers/launch.ts';
import type { Scenario } from './stats.ts';

const RUNNER = fileURLToPath(new URL('./open-loop-runner.ts', import.meta.url));
export const LOAD_FRACTIONS = [0.5, 0.9];
/** Connections the open-loop client may open: enough that it is never what holds a request back. */
const OPEN_LOOP_CONNECTIONS = 128;

export interface OpenLoopResult { rate: number; achieved_rps: number; total: number; errors: number; non2xx: number; p50_ms: number; p99_ms: number; max_ms: number; send_lag_p99_ms: number }

/** `rate` requests per second for `job.durationS`, in a process of its own. */
export function openLoad(job: LoadJob, rate: number, connections = OPEN_LOOP_CONNECTIONS): Promise<OpenLoopResult> {
  const child = fork(RUNNER, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.send({ url: job.url, rate, durationS: job.durationS, connections, method: job.method, body: job.body, headers: job.headers });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => { child.kill(); resolve(m as OpenLoopResult); });
    child.once('exit', (c) => reject(new Error(`open-loop runner exited ${c}`)));
  });
}

export interface LatencyOptions {
  upstream: string; maxRps: number; durationS: number;
  /** The chain's own closed-loop maximum, when measured: each rate is also told as a share of it. */
  chainMaxRps?: number;
  request: (url: string, method: 'GET') => LoadJob;
}

export async function benchLatency(opts: LatencyOptions, note: (s: string) => void): Promise<Record<string, Scenario>> {
  const out: Record<string, Scenario> = {};
  const server = await startServer('wasm-3-filters', opts.upstream);
  if (typeof server === 'string') throw new Error(server);
  try {
    const job = opts.request(server.url, 'GET');
    await closedLoad({ ...job, durationS: 2 }); // warm-up: JIT, pools, upstream connections
    for (const f of LOAD_FRACTIONS) {
      const rate = Math.max(1, Math.round(opts.maxRps * f));
      const r = await openLoad({ ...job, durationS: opts.durationS }, rate);
      out[`latency/wasm-3-filters/GET@${Math.round(f * 100)}%`] = {
        p50_us: Math.round(r.p50_ms * 1000), p99_us: Math.round(r.p99_ms * 1000), ops_per_s: Math.round(r.achieved_rps),
        rate_per_s: rate, ...(opts.chainMaxRps ? { of_chain_max: Math.round((rate / opts.chainMaxRps) * 100) / 100 } : {}), send_lag_p99_us: Math.round(r.send_lag_p99_ms * 1000), max_us: Number.isFinite(r.max_ms) ? Math.round(r.max_ms * 1000) : 'inf', non2xx: r.non2xx, errors: r.errors,
      };
    }
    note(`latency: fixed-rate load (own open-loop undici client, latency from scheduled send time) at ${LOAD_FRACTIONS.map((f) => `${f * 100}%`).join(' and ')} of the no-filter gateway's GET maximum (${opts.maxRps}/s), ${opts.durationS} s each`);
  } finally {
    await server.close();
  }
  return out;
}
