/**
 * The end-to-end cost per request of each server, measured where a loaded machine cannot blur
 * it much: bytes allocated on the JS heap per request (deterministic up to GC timing) and the
 * server process's own CPU time per request (best round). Each server runs in its own process
 * with `servers/probe.ts` preloaded; the upstream runs in another; this process is the client
 * (an undici Pool, a fixed number of requests at fixed concurrency). Variants are interleaved.
 *
 * `node bench/per-request.ts [kinds]`; knobs PER_REQ_N (requests per round, 4000), PER_REQ_ROUNDS (5),
 * PER_REQ_CONCURRENCY (8), PER_REQ_METHOD (GET), PER_REQ_NODE_ARGS (extra node flags for the servers,
 * e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`), PER_REQ_SAMPLE (below).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startUpstream } from './servers/launch.ts';

const BENCH = fileURLToPath(new URL('./', import.meta.url));
const N = Number(process.env.PER_REQ_N ?? 4000);
const ROUNDS = Number(process.env.PER_REQ_ROUNDS ?? 5);
const CONCURRENCY = Number(process.env.PER_REQ_CONCURRENCY ?? 8);
const METHOD = process.env.PER_REQ_METHOD ?? 'GET';
const KINDS = (process.argv[2] ?? 'minimal-proxy,no-filter,wasm-3-filters').split(',');
const BODY = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hello there' }] });

interface Probe { cpuUs: number; allocatedBytes: number }
interface Server { child: ChildProcess; pool: Pool }

/** `kind`, or `base:kind`: the same server from another tree (PER_REQ_BASE, a checkout of an earlier commit), for before/after in one run. */
async function start(name: string, upstream: string): Promise<Server> {
  const base = name.startsWith('base:');
  const kind = base ? name.slice(5) : name;
  const file = kind === 'minimal-proxy' ? 'servers/minimal-proxy.ts' : 'servers/gateway-server.ts';
  const args = kind === 'minimal-proxy' ? [upstream] : [kind, upstream];
  const child = fork(join(base ? join(process.env.PER_REQ_BASE!, 'bench') : BENCH, file), args, { execArgv: ['--import', join(BENCH, 'servers/probe.ts'), ...(process.env.PER_REQ_NODE_ARGS ?? '').split(' ').filter(Boolean)], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (c) => reject(new Error(`${kind} exited ${c}`)));
  });
  return { child, pool: new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY }) };
}

function probe(child: ChildProcess): Promise<Probe> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      const p = (m as { probe?: Probe } | null)?.probe;
      if (!p) return;
      child.off('message', on);
      resolve(p);
    };
    child.on('message', on);
    child.send({ probe: true });
  });
}

async function drive(pool: Pool, n: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next++ < n) {
      const r = await pool.request({ path: '/v1/chat', method: METHOD as 'GET', headers: { 'content-type': 'application/json' }, body: METHOD === 'GET' ? null : BODY });
      if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
      await r.body.dump();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

const upstream = await startUpstream();
const servers = new Map<string, Server>();
for (const k of KINDS) servers.set(k, await start(k, upstream.url));
for (const s of servers.values()) await drive(s.pool, N); // warm-up
const results = new Map<string, { cpu: number[]; alloc: number[] }>(KINDS.map((k) => [k, { cpu: [], alloc: [] }]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [k, s] of servers) {
    const a = await probe(s.child);
    await drive(s.pool, N);
    const b = await probe(s.child);
    results.get(k)!.cpu.push((b.cpuUs - a.cpuUs) / N);
    results.get(k)!.alloc.push((b.allocatedBytes - a.allocatedBytes) / N);
  }
}
// PER_REQ_SAMPLE=<dir>: one more round per server under the sampling heap profiler, written there.
if (process.env.PER_REQ_SAMPLE) {
  for (const [k, s] of servers) {
    const said = (what: string) => new Promise<void>((resolve) => {
      const on = (m: unknown) => { if ((m as { sampled?: string } | null)?.sampled === what) { s.child.off('message', on); resolve(); } };
      s.child.on('message', on);
      s.child.send({ sample: what });
    });
    await said('start');
    await drive(s.pool, N);
    await said(join(process.env.PER_REQ_SAMPLE, `${k}.heapprofile`));
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
console.log(`${METHOD}, ${N} requests x ${ROUNDS} rounds, concurrency ${CONCURRENCY}`);
console.log('server'.padEnd(16), 'KB alloc/req (median, min)'.padEnd(28), 'CPU us/req (best, median)');
for (const [k, r] of results) {
  console.log(k.padEnd(16), `${(median(r.alloc) / 1024).toFixed(2)}, ${(Math.min(...r.alloc) / 1024).toFixed(2)}`.padEnd(28), `${Math.min(...r.cpu).toFixed(1)}, ${median(r.cpu).toFixed(1)}`);
}
// Disconnecting (not a signal) lets a server exit on its own, writing a --cpu-prof profile.
for (const s of servers.values()) {
  await s.pool.close();
  const exited = new Promise((resolve) => s.child.once('exit', resolve));
  s.child.disconnect();
  await exited;
}
upstream.stop();
