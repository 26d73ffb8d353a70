/**
 * Added latency of the key-value interface: one hook (the kv-probe fixture) that makes one `get`
 * and one `increment`, against the same two calls made directly from JS on the same store (the
 * same backend object, so the same Redis client), on `memory` and on `redis`. A third series runs
 * the same hook with no store call, so the hook's own cost (header lookups, building the answer)
 * can be told apart from the cost of crossing into the host twice (lowering, JSPI suspension).
 * Run directly: `node bench/keyvalue.ts [iterations]` (Redis: a `redis-server` on PATH).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadComponent } from '../runtime/component/loader.ts';
import type { FilterInstance, HostCalls, RequestHead } from '../runtime/component/types.ts';
import { KeyValueStore } from '../runtime/keyvalue/store.ts';
import type { KvCallScope, PluginKeyValue } from '../runtime/keyvalue/types.ts';
import { benchInfo, noopHost } from './hook.ts';
import { type Scenario, round, summarize } from './stats.ts';

const PROBE = fileURLToPath(new URL('../test/fixtures/kv-probe/dist/kv-probe.wasm', import.meta.url));
const nowUs = (): number => Number(process.hrtime.bigint()) / 1000;

function head(ops: string): RequestHead {
  return { method: 'GET', path: '/', authority: 'bench', headers: [['host', 'bench'], ['x-kv-ops', ops], ['x-kv-key', 'counter']] };
}

/** What a gateway's FilterHost does for a store call: the plugin's view, bounded by the request. */
function hostFor(kv: PluginKeyValue, scope: KvCallScope): HostCalls {
  return {
    ...noopHost,
    kvGet: (ns, key) => kv.get(scope, ns, key),
    kvSet: (ns, key, value, ttl) => kv.set(scope, ns, key, value, ttl),
    kvDelete: (ns, key) => kv.delete(scope, ns, key),
    kvIncrement: (ns, key, delta, ttl) => kv.increment(scope, ns, key, delta, ttl),
    kvCompareAndSwap: (ns, key, expected, value, ttl) => kv.compareAndSwap(scope, ns, key, expected, value, ttl),
  };
}

async function startRedis(): Promise<{ url: string; child: ChildProcess } | undefined> {
  const bin = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
  if (!bin) return undefined;
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  return { url: `redis://127.0.0.1:${port}`, child };
}

async function series(store: KeyValueStore, inst: FilterInstance, iterations: number, label: string): Promise<Record<string, Scenario>> {
  const kv = store.forPlugin('bench');
  const scope = { deadline: Date.now() + 3_600_000, signal: new AbortController().signal };
  const host = hostFor(kv, scope);
  const both = head('get,incr');
  const none = head('');
  const direct = async () => {
    await kv.get(scope, '', 'counter');
    await kv.increment(scope, '', 'counter', 1n);
  };
  const hook = async () => {
    const a = await inst.onRequestHeaders(host, benchInfo, both);
    if (a.tag !== 'reject') throw new Error(`kv-probe answered ${a.tag}`);
  };
  const empty = () => inst.onRequestHeaders(host, benchInfo, none);
  for (let i = 0; i < Math.min(1000, iterations / 5); i++) { await direct(); await hook(); await empty(); }
  const d: number[] = [];
  const h: number[] = [];
  const e: number[] = [];
  const started = nowUs();
  // Interleaved, so the three see the same machine state.
  for (let i = 0; i < iterations; i++) {
    let t = nowUs(); await direct(); d.push(nowUs() - t);
    t = nowUs(); await hook(); h.push(nowUs() - t);
    t = nowUs(); await empty(); e.push(nowUs() - t);
  }
  const perOp = (nowUs() - started) / iterations / 3;
  return {
    [`keyvalue/${label}/direct get+increment`]: summarize(d, 1e6 / perOp),
    [`keyvalue/${label}/hook get+increment`]: summarize(h, 1e6 / perOp),
    [`keyvalue/${label}/hook, no store call`]: summarize(e, 1e6 / perOp),
  };
}

export async function benchKeyValue(opts: { iterations: number }, note: (s: string) => void = console.error): Promise<Record<string, Scenario>> {
  const logger = pino({ level: 'silent' });
  const loaded = await loadComponent(PROBE, {});
  const inst = await loaded.factory.instantiate();
  const configured = await inst.configure(noopHost, '{}');
  if (!configured.ok) throw new Error(`kv-probe configure failed: ${configured.error}`);
  const out: Record<string, Scenario> = {};
  const memory = await KeyValueStore.open({ backend: 'memory' }, logger);
  Object.assign(out, await series(memory, inst, opts.iterations, 'memory'));
  await memory.close();
  const redis = await startRedis();
  if (!redis) note('keyvalue: no redis-server on this machine; the redis series is skipped');
  else {
    const store = await KeyValueStore.open({ backend: 'redis', redis: { url: redis.url, timeoutMs: 1000 } }, logger);
    try {
      Object.assign(out, await series(store, inst, opts.iterations, 'redis'));
    } finally {
      await store.close();
      redis.child.kill('SIGKILL');
    }
  }
  for (const b of ['memory', 'redis']) {
    const d = out[`keyvalue/${b}/direct get+increment`];
    const h = out[`keyvalue/${b}/hook get+increment`];
    if (d && h) note(`keyvalue ${b}: the hook adds ${round(h.p50_us - d.p50_us, 1)} us at p50, ${round(h.p99_us - d.p99_us, 1)} us at p99 over the direct calls`);
  }
  return out;
}

if (import.meta.main) {
  const r = await benchKeyValue({ iterations: Number(process.argv[2] ?? '5000') });
  for (const [k, s] of Object.entries(r)) console.log(`${k.padEnd(44)} p50 ${s.p50_us} us  p99 ${s.p99_us} us`);
  process.exit(0);
}
