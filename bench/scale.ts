/**
 * `npm run bench:scale`: the gateway (`praxis-wasm run --workers W`, node:cluster) for W = 1, 2,
 * 4, ... up to N = the machine's cores, against a multi-threaded wrk (several autocannon
 * processes when wrk is not installed) and an upstream of several processes sharing one port, so
 * neither is what limits the gateway. Prints throughput, latency and CPU per request for each W,
 * and the scaling efficiency: throughput at W / (W x throughput at 1). Writes bench/results/scale.json.
 * Env: BENCH_SCALE_DURATION_S (5), BENCH_SCALE_MAX_WORKERS (cores), BENCH_SCALE_FILTERS (chain | none),
 * BENCH_SCALE_METHOD (GET | POST), BENCH_SCALE_CONNECTIONS (32 x N), BENCH_SCALE_THREADS (load
 * generator threads, N / 4 rounded up), BENCH_SCALE_UPSTREAMS (upstream processes, N / 4 rounded up).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Method, requestJob } from './gateway.ts';
import { closedLoad, loadTool } from './load.ts';
import { processTreeCpuUs } from './proc-cpu.ts';
import { wasmConfig } from './servers/filter-chain.ts';
import { freePort, startUpstream } from './servers/launch.ts';
import { envNumber, round } from './stats.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const cores = availableParallelism();
const maxWorkers = envNumber('BENCH_SCALE_MAX_WORKERS', cores);
const durationS = envNumber('BENCH_SCALE_DURATION_S', 5);
const filters = process.env.BENCH_SCALE_FILTERS !== 'none';
const method: Method = process.env.BENCH_SCALE_METHOD === 'POST' ? 'POST' : 'GET';
const connections = envNumber('BENCH_SCALE_CONNECTIONS', 32 * maxWorkers);
const threads = envNumber('BENCH_SCALE_THREADS', Math.ceil(maxWorkers / 4));
const upstreams = envNumber('BENCH_SCALE_UPSTREAMS', Math.ceil(maxWorkers / 4));

/** 1, 2, 4, ... below max, then max itself. */
export function workerCounts(max: number): number[] {
  const out: number[] = [];
  for (let w = 1; w < max; w *= 2) out.push(w);
  out.push(max);
  return out;
}

/** `praxis-wasm run --workers W` on `config`; resolves once it says it is serving. */
async function startCluster(config: string, workers: number): Promise<ChildProcess> {
  const env = { ...process.env };
  delete env.npm_lifecycle_event; // this process, not npm, is its parent: no launcher watch
  const child = spawn(process.execPath, [join(ROOT, 'bin/praxis-wasm.js'), 'run', '--config', config, '--workers', String(workers)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway with ${workers} workers not serving after 120 s: ${stderr}`)), 120_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/praxis-wasm: .* on http/.test(stderr)) { clearTimeout(timer); resolve(); }
    });
    child.once('exit', (c) => { clearTimeout(timer); reject(new Error(`gateway exited ${c}: ${stderr}`)); });
  });
  return child;
}

async function stopCluster(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

interface Row { workers: number; ops_per_s: number; p50_us: number; p99_us: number; cpu_us_per_req?: number; speedup: number; efficiency: number; non2xx: number; errors: number }

const up = await startUpstream(upstreams);
const dir = mkdtempSync(join(tmpdir(), 'praxis-bench-scale-'));
const rows: Row[] = [];
console.error(`scale: ${cores} cores; gateway ${filters ? 'with the 3-filter wasm chain' : 'with no filters'}, ${method}; load by ${loadTool()} (${threads} ${loadTool() === 'wrk' ? 'threads' : 'processes'}, ${connections} connections), ${upstreams} upstream process(es), ${durationS} s per worker count`);
try {
  for (const workers of workerCounts(maxWorkers)) {
    const port = await freePort();
    const config = join(dir, `gateway-${workers}.yaml`);
    writeFileSync(config, JSON.stringify(wasmConfig(up.url, filters, port))); // JSON is YAML
    const gw = await startCluster(config, workers);
    try {
      const url = `http://127.0.0.1:${port}`;
      await closedLoad({ ...requestJob(url, method, connections, 2), threads }); // warm-up: every worker's JIT and pools
      const cpu0 = processTreeCpuUs(gw.pid!);
      const r = await closedLoad({ ...requestJob(url, method, connections, durationS), threads });
      const cpu1 = processTreeCpuUs(gw.pid!);
      const base = rows[0]?.ops_per_s ?? r.rps;
      rows.push({
        workers, ops_per_s: Math.round(r.rps), p50_us: Math.round(r.p50_ms * 1000), p99_us: Math.round(r.p99_ms * 1000),
        ...(cpu0 !== undefined && cpu1 !== undefined ? { cpu_us_per_req: round((cpu1 - cpu0) / Math.max(1, r.total), 1) } : {}),
        speedup: round(r.rps / base, 2), efficiency: round(r.rps / (workers * base), 2), non2xx: r.non2xx, errors: r.errors + r.timeouts,
      });
      console.error(`  ${workers} worker(s): ${Math.round(r.rps)} req/s`);
    } finally {
      await stopCluster(gw);
    }
  }
} finally {
  up.stop();
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\n${cores} cores, gateway ${filters ? '3-filter wasm chain' : 'no filters'}, ${method}, ${loadTool()} x${threads}, ${connections} connections, ${upstreams} upstream process(es)`);
console.log(`  ${'workers'.padStart(7)} ${'req/s'.padStart(9)} ${'p50 us'.padStart(9)} ${'p99 us'.padStart(9)} ${'CPU us/req'.padStart(10)} ${'speedup'.padStart(8)} ${'efficiency'.padStart(10)}`);
for (const r of rows) {
  console.log(`  ${String(r.workers).padStart(7)} ${String(r.ops_per_s).padStart(9)} ${String(r.p50_us).padStart(9)} ${String(r.p99_us).padStart(9)} ${String(r.cpu_us_per_req ?? '-').padStart(10)} ${String(r.speedup).padStart(8)} ${String(r.efficiency).padStart(10)}${r.non2xx + r.errors ? `  (non-2xx ${r.non2xx}, errors ${r.errors})` : ''}`);
}
const last = rows[rows.length - 1];
if (last) console.log(`\nscaling efficiency at ${last.workers} workers: ${last.efficiency} (throughput at ${last.workers} / (${last.workers} x throughput at 1))`);
if (maxWorkers + threads + upstreams > cores) {
  console.log(`note: at ${maxWorkers} workers the gateway shares ${cores} cores with ${threads} load thread(s) and ${upstreams} upstream process(es): efficiency there measures the machine, not only the gateway`);
}
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/scale.json'), `${JSON.stringify({ node: process.version, when: new Date().toISOString(), cores, filters, method, loadTool: loadTool(), threads, connections, upstreams, durationS, rows }, null, 2)}\n`);
console.log('wrote bench/results/scale.json');
process.exit(0);
