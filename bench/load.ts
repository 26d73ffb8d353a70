/**
 * Closed-loop load at fixed concurrency, in its own process: wrk when it is installed (a C client
 * that leaves more of a small machine's CPU to the server under test), autocannon otherwise.
 * BENCH_LOAD=autocannon forces autocannon.
 */
import { execFile, fork, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LoadJob {
  url: string; connections: number; durationS: number; method: 'GET' | 'POST';
  body?: string; headers: Record<string, string>;
  /** wrk threads (1 by default); autocannon runs one process per thread instead. */
  threads?: number;
}
export interface LoadResult { rps: number; p50_ms: number; p99_ms: number; mean_ms: number; non2xx: number; errors: number; timeouts: number; total: number }
export type LoadTool = 'wrk' | 'autocannon';

let tool: LoadTool | undefined;
export function loadTool(): LoadTool {
  tool ??= process.env.BENCH_LOAD !== 'autocannon' && spawnSync('wrk', ['--version']).error === undefined ? 'wrk' : 'autocannon';
  return tool;
}

export function closedLoad(job: LoadJob): Promise<LoadResult> {
  return loadTool() === 'wrk' ? wrkLoad(job) : autocannonLoad(job);
}

const luaString = (s: string): string => JSON.stringify(s); // a JSON string is a valid Lua string literal here (ASCII)

/** wrk with a script that sets method, headers and body and prints its summary as one JSON line. */
export async function wrkLoad(job: LoadJob): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'praxis-bench-wrk-'));
  const script = join(dir, 'job.lua');
  writeFileSync(script, `
wrk.method = ${luaString(job.method)}
${job.body !== undefined ? `wrk.body = ${luaString(job.body)}` : ''}
${Object.entries(job.headers).map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`).join('\n')}
done = function(s, latency, requests)
  io.write(string.format('BENCH_RESULT {"total":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"mean_us":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\\n',
    s.requests, s.duration, latency:percentile(50), latency:percentile(99), latency.mean, s.errors.status, s.errors.connect, s.errors.read, s.errors.write, s.errors.timeout))
end
`);
  const threads = Math.max(1, Math.min(job.threads ?? 1, job.connections));
  try {
    const out = await new Promise<string>((resolve, reject) => {
      execFile('wrk', [`-t${threads}`, `-c${job.connections}`, `-d${job.durationS}s`, '--timeout', '10s', '-s', script, job.url],
        { maxBuffer: 1 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`wrk: ${err.message} ${stderr}`)) : resolve(stdout)));
    });
    const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
    if (!line) throw new Error(`wrk printed no result: ${out}`);
    const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as Record<string, number>;
    return {
      rps: r.total! / (r.duration_us! / 1e6), p50_ms: r.p50_us! / 1000, p99_ms: r.p99_us! / 1000, mean_ms: r.mean_us! / 1000,
      non2xx: r.status!, errors: r.connect! + r.read! + r.write!, timeouts: r.timeout!, total: r.total!,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const RUNNER = fileURLToPath(new URL('./load-runner.ts', import.meta.url));

function autocannonOnce(job: LoadJob, connections: number): Promise<LoadResult> {
  const child = fork(RUNNER, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.send({ ...job, connections });
  return new Promise<LoadResult>((resolve, reject) => {
    child.once('message', (m) => {
      child.kill();
      if ('error' in (m as object)) reject(new Error((m as { error: string }).error));
      else resolve(m as LoadResult);
    });
    child.once('exit', (c) => reject(new Error(`load runner exited ${c}`)));
  });
}

/** One autocannon process per thread, connections split between them; percentiles of the busiest. */
export async function autocannonLoad(job: LoadJob): Promise<LoadResult> {
  const n = Math.max(1, Math.min(job.threads ?? 1, job.connections));
  const rs = await Promise.all(Array.from({ length: n }, (_, i) =>
    autocannonOnce(job, Math.floor(job.connections / n) + (i < job.connections % n ? 1 : 0))));
  const sum = (f: keyof LoadResult): number => rs.reduce((a, r) => a + r[f], 0);
  return {
    rps: sum('rps'), total: sum('total'), non2xx: sum('non2xx'), errors: sum('errors'), timeouts: sum('timeouts'),
    p50_ms: Math.max(...rs.map((r) => r.p50_ms)), p99_ms: Math.max(...rs.map((r) => r.p99_ms)),
    mean_ms: rs.reduce((a, r) => a + r.mean_ms * r.total, 0) / Math.max(1, sum('total')),
  };
}
