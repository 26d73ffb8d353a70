/**
 * `npm run bench`: every comparison measured in the same run as its baseline; prints a table led
 * by ratios and writes bench/results/latest.json.
 * Env: BENCH_DURATION_S (per gateway scenario and round, 3; the isolation scenario takes 5 unless
 * set), BENCH_ROUNDS (interleaved rounds of the gateway scenarios, medians, 3), BENCH_LATENCY_DURATION_S (per fixed-rate load, 5),
 * BENCH_CONNECTIONS (32), BENCH_LOAD (autocannon: do not use wrk even when installed), BENCH_HOOK_ROUNDS (40),
 * BENCH_HOOK_BATCH (200), BENCH_POOL_ITER (5000), BENCH_SUB_ITER (2000), BENCH_ONLY (comma list of
 * hook,pool,subrequest,gateway,isolation,extproc,keyvalue; extproc and keyvalue run only when named; the first argument does the same: `npm run bench -- isolation`);
 * BENCH_KV_ITER (5000), BENCH_CHAIN_ROUNDS (15), BENCH_CHAIN_BATCH (1000): `chain` is the wasm chain's host cost in process (chain.ts). `tracing` (only when named): CPU per request with tracing off, no-op, OTLP.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchGateway } from './gateway.ts';
import { benchHooks } from './hook.ts';
import { HOSTILE_CONNECTIONS, HOSTILE_INTERVAL_MS, SIDE_PHASES, benchIsolation } from './isolation.ts';
import { benchPool } from './pool.ts';
import { type Scenario, envNumber, round } from './stats.ts';
import { benchSubrequest } from './subrequest.ts';
import { type Target, gatewayTargets, printTargets } from './targets.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const only = new Set((process.argv[2] ?? process.env.BENCH_ONLY ?? 'hook,chain,pool,subrequest,gateway,isolation').split(','));
const scenarios: Record<string, Scenario> = {};
const notes: string[] = [];
const note = (s: string): void => { notes.push(s); console.error(s); };
const routes = JSON.stringify({ routes: { 'gpt-4': 'a', 'llama-3': 'c' }, default: 'b' });
const hookTargets = [
  { label: 'header-router-rust', path: `${ROOT}plugins/header-router-rust/dist/header-router-rust.wasm`, config: routes },
  { label: 'header-router-as', path: `${ROOT}plugins/header-router/dist/header-router.wasm`, config: routes },
  { label: 'testkit-as', path: `${ROOT}test/fixtures/testkit/dist/testkit.wasm`, config: '{}' },
  // Imports http-client, but on-request-headers cannot reach it: called without `promising`.
  { label: 'guardrail-as', path: `${ROOT}plugins/guardrail/dist/guardrail.wasm`, config: JSON.stringify({ scannerUrl: 'http://127.0.0.1:9/scan' }) },
];

if (only.has('hook')) {
  console.error('hook: interleaved per-call timings ...');
  Object.assign(scenarios, await benchHooks(hookTargets, envNumber('BENCH_HOOK_ROUNDS', 40), envNumber('BENCH_HOOK_BATCH', 200)));
}
if (only.has('chain')) {
  console.error('chain: the wasm chain\'s hooks through the pipeline and called directly, in process, CPU time ...');
  const { benchChain } = await import('./chain.ts');
  Object.assign(scenarios, await benchChain({ rounds: envNumber('BENCH_CHAIN_ROUNDS', 15), batch: envNumber('BENCH_CHAIN_BATCH', 1000) }));
}
if (only.has('pool')) {
  console.error('pool ...');
  Object.assign(scenarios, await benchPool(hookTargets[1]!.path, routes, envNumber('BENCH_POOL_ITER', 5000)));
}
if (only.has('subrequest')) {
  console.error('subrequest ...');
  const r = await benchSubrequest({ iterations: envNumber('BENCH_SUB_ITER', 2000) });
  scenarios['subrequest/direct-undici'] = { ...r.direct, ops_per_s: Math.round(1e6 / r.direct.p50_us) };
  scenarios['subrequest/bridge'] = { ...r.bridge, ops_per_s: Math.round(1e6 / r.bridge.p50_us) };
}
if (only.has('gateway')) {
  console.error('gateway: each server and the load generator in its own process ...');
  Object.assign(scenarios, await benchGateway({
    durationS: envNumber('BENCH_DURATION_S', 3), rounds: envNumber('BENCH_ROUNDS', 3), connections: envNumber('BENCH_CONNECTIONS', 32),
    latencyDurationS: envNumber('BENCH_LATENCY_DURATION_S', 5),
  }, note));
}
if (only.has('extproc')) {
  console.error('extproc: the same 3-filter chain through ext_proc (one gRPC message per phase) and through the gateway, in-process ...');
  const { benchExtProc } = await import('./extproc.ts');
  Object.assign(scenarios, await benchExtProc({ durationS: envNumber('BENCH_DURATION_S', 3), concurrency: envNumber('BENCH_EXTPROC_CONCURRENCY', 16) }));
}
if (only.has('keyvalue')) {
  console.error('keyvalue: a hook making one get and one increment vs the same calls from JS, memory and redis ...');
  const { benchKeyValue } = await import('./keyvalue.ts');
  Object.assign(scenarios, await benchKeyValue({ iterations: envNumber('BENCH_KV_ITER', 5000) }, note));
}
if (only.has('tracing')) {
  console.error('tracing: the wasm chain with tracing off, on with a no-op exporter, and on with OTLP export to a loopback collector ...');
  const { benchTracing } = await import('./tracing.ts');
  Object.assign(scenarios, await benchTracing({ durationS: envNumber('BENCH_DURATION_S', 3), rounds: envNumber('BENCH_ROUNDS', 3), connections: envNumber('BENCH_CONNECTIONS', 32) }, note));
}
if (only.has('isolation')) {
  console.error(`isolation: a filterless route alone, then beside a well-behaved, a spinning and a trapping plugin (${HOSTILE_CONNECTIONS} connections, one request per ${HOSTILE_INTERVAL_MS} ms each) ...`);
  Object.assign(scenarios, await benchIsolation({ durationS: envNumber('BENCH_DURATION_S', 5), connections: envNumber('BENCH_CONNECTIONS', 32) }));
}

const ratios: Record<string, number> = {};
const ratio = (name: string, a: string, b: string, field: keyof Scenario = 'p50_us'): void => {
  const x = scenarios[a]?.[field];
  const y = scenarios[b]?.[field];
  if (typeof x === 'number' && typeof y === 'number' && y > 0) ratios[name] = round(x / y, 2);
};
for (const t of hookTargets) {
  const h = `hook/${t.label}`;
  ratio(`${t.label}: fast / jspi floor (p50)`, `${h}/fast`, `${h}/floor-jspi`);
  ratio(`${t.label}: fast / sync floor (p50)`, `${h}/fast`, `${h}/floor-sync`);
  ratio(`${t.label}: jco / fast (p50)`, `${h}/jco`, `${h}/fast`);
  ratio(`${t.label}: all-promising / fast (p50)`, `${h}/fast-all-promising`, `${h}/fast`);
  ratio(`${t.label}: fast / jspi floor (mean, from ops/s)`, `${h}/floor-jspi`, `${h}/fast`, 'ops_per_s');
}
for (const m of ['GET', 'POST']) {
  const g = (k: string): string => `gateway/${k}/${m}`;
  ratio(`gateway ${m}: wasm-3 / js-3 CPU per request`, g('wasm-3-filters'), g('js-3-filters'), 'cpu_us_per_req');
  ratio(`gateway ${m}: wasm-3 / no-filter throughput`, g('wasm-3-filters'), g('no-filter'), 'ops_per_s');
  ratio(`gateway ${m}: wasm-3 / no-filter p99`, g('wasm-3-filters'), g('no-filter'), 'p99_us');
  ratio(`gateway ${m}: no-filter / nginx throughput`, g('no-filter'), g('nginx'), 'ops_per_s');
  ratio(`gateway ${m}: minimal proxy / nginx throughput`, g('minimal-proxy'), g('nginx'), 'ops_per_s');
  ratio(`gateway ${m}: nginx / minimal proxy CPU per request`, g('nginx'), g('minimal-proxy'), 'cpu_us_per_req');
}
ratio('latency: wasm-3 p99 at 90% / at 50% of no-filter max', 'latency/wasm-3-filters/GET@90%', 'latency/wasm-3-filters/GET@50%', 'p99_us');
for (const side of Object.keys(SIDE_PHASES)) {
  ratio(`isolation: plain beside paced ${side} / alone throughput (target >= 0.8)`, `isolation/plain-beside-${side}`, `isolation/plain-alone-before-${side}`, 'ops_per_s');
  ratio(`isolation: plain beside paced ${side} / alone p99 (target <= 2)`, `isolation/plain-beside-${side}`, `isolation/plain-alone-before-${side}`, 'p99_us');
}
ratio('extproc: ext_proc stream / gateway request, same chain (p50)', 'extproc/3-filters (3 messages)', 'extproc/gateway-3-filters');
ratio('extproc: ext_proc / gateway throughput, same chain', 'extproc/3-filters (3 messages)', 'extproc/gateway-3-filters', 'ops_per_s');
ratio('extproc: ext_proc no-filter / gateway no-filter (p50)', 'extproc/no-filter (3 messages)', 'extproc/gateway-no-filter');
for (const m of ['GET', 'POST']) {
  ratio(`tracing ${m}: on, no-op exporter / off CPU per request`, `tracing/noop/${m}`, `tracing/off/${m}`, 'cpu_us_per_req');
  ratio(`tracing ${m}: on, OTLP export / off CPU per request`, `tracing/otlp/${m}`, `tracing/off/${m}`, 'cpu_us_per_req');
  ratio(`tracing ${m}: on, OTLP export / off throughput`, `tracing/otlp/${m}`, `tracing/off/${m}`, 'ops_per_s');
  ratio(`tracing ${m}: on, no-op / off least CPU per request of the rounds`, `tracing/noop/${m}`, `tracing/off/${m}`, 'cpu_min');
  ratio(`tracing ${m}: on, OTLP / off least CPU per request of the rounds`, `tracing/otlp/${m}`, `tracing/off/${m}`, 'cpu_min');
}
// Tracing off: the cost of its calls per request, as a share of the gateway's CPU per request.
const offNs = scenarios['tracing/off-path-calls']?.ns_per_req;
const offCpu = scenarios['tracing/off/GET']?.cpu_us_per_req;
if (typeof offNs === 'number' && typeof offCpu === 'number' && offCpu > 0) ratios['tracing GET: off-path calls / off CPU per request'] = round(offNs / 1000 / offCpu, 5);
ratio('chain in process: pipeline / direct guest calls CPU per request', 'chain/pipeline', 'chain/direct-guest-calls');
ratio('subrequest: bridge / direct (p50)', 'subrequest/bridge', 'subrequest/direct-undici');
ratio('pool: cold instantiate / warm acquire (p50)', 'pool/cold-instantiate-configure', 'pool/warm-acquire-release');
const sb = scenarios['subrequest/bridge'];
const sd = scenarios['subrequest/direct-undici'];
if (sb && sd) ratios['subrequest: added p50 us'] = round(sb.p50_us - sd.p50_us, 1);

const targets: Target[] = gatewayTargets(scenarios, note);

const pad = (s: string, n: number): string => s.padEnd(n);
console.log('\nratios (same run)');
for (const [k, v] of Object.entries(ratios)) console.log(`  ${pad(k, 60)} ${v}`);
printTargets(targets);
console.log(`\n  ${pad('scenario', 44)} ${'p50 us'.padStart(10)} ${'p99 us'.padStart(10)} ${'ops/s'.padStart(10)}`);
for (const [k, s] of Object.entries(scenarios)) {
  const extra = Object.entries(s).filter(([f]) => !['p50_us', 'p99_us', 'ops_per_s', 'samples'].includes(f)).map(([f, v]) => `${f}=${v}`).join(' ');
  console.log(`  ${pad(k, 44)} ${String(s.p50_us).padStart(10)} ${String(s.p99_us).padStart(10)} ${String(s.ops_per_s).padStart(10)}  ${extra}`);
}
for (const n of notes) console.log(`  note: ${n}`);
mkdirSync(`${ROOT}bench/results`, { recursive: true });
writeFileSync(`${ROOT}bench/results/latest.json`, `${JSON.stringify({ node: process.version, when: new Date().toISOString(), scenarios, ratios, targets, notes }, null, 2)}\n`);
console.log(`\nwrote bench/results/latest.json`);
process.exit(0);
