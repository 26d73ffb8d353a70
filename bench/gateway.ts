/**
 * Gateway scenarios, GET and POST at fixed concurrency, each server in its own process: the
 * minimal Node proxy (servers/minimal-proxy.ts), the gateway with no filters, with the wasm chain
 * (header-router, request-headers, deny-list with its body buffered), with the same chain as
 * plain-JS filters, and nginx when installed. Load: wrk when installed, else autocannon
 * (load.ts); the upstream is a node:http server in its own process. Every scenario reports the
 * server process's own CPU time per request (/proc), and the wasm chain its guest calls per request.
 * Then the latency of the wasm chain under fixed-rate load (latency.ts).
 */
import { benchLatency } from './latency.ts';
import { type LoadJob, type LoadResult, closedLoad, loadTool } from './load.ts';
import { processCpuUs } from './proc-cpu.ts';
import { type Server, type ServerKind, startServer, startUpstream } from './servers/launch.ts';
import { type Scenario, medianScenario } from './stats.ts';

export { startUpstream } from './servers/launch.ts';

const PATH = '/v1/chat/completions';
const HEADERS = { 'x-model': 'gpt-4', 'x-drop': 'yes' };
const BODY = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hello there, how are you today?' }] });
export type Method = 'GET' | 'POST';
export const METHODS: Method[] = ['GET', 'POST'];
const KINDS: ServerKind[] = ['minimal-proxy', 'no-filter', 'wasm-3-filters', 'js-3-filters', 'nginx'];

export function requestJob(url: string, method: Method, connections: number, durationS: number): LoadJob {
  return method === 'GET'
    ? { url: `${url}${PATH}`, method, connections, durationS, headers: HEADERS }
    : { url: `${url}${PATH}`, method, connections, durationS, body: BODY, headers: { ...HEADERS, 'content-type': 'application/json' } };
}

function scenario(r: LoadResult): Scenario {
  return {
    p50_us: Math.round(r.p50_ms * 1000), p99_us: Math.round(r.p99_ms * 1000), ops_per_s: Math.round(r.rps),
    mean_us: Math.round(r.mean_ms * 1000), total: r.total, non2xx: r.non2xx, errors: r.errors + r.timeouts,
  };
}

export interface GatewayBenchOptions { durationS: number; rounds: number; connections: number; latencyDurationS: number }

/** One closed-loop measurement of a running server: load, and the server's CPU and guest calls over it. */
async function measure(kind: ServerKind, server: Server, method: Method, opts: GatewayBenchOptions): Promise<Scenario> {
  const cpu0 = processCpuUs(server.pid);
  const calls0 = await server.guestCalls();
  const r = await closedLoad(requestJob(server.url, method, opts.connections, opts.durationS));
  const cpu1 = processCpuUs(server.pid);
  const calls1 = await server.guestCalls();
  const s = scenario(r);
  if (cpu0 !== undefined && cpu1 !== undefined) s.cpu_us_per_req = Math.round((cpu1 - cpu0) / Math.max(1, r.total) * 10) / 10;
  if (calls0 !== undefined && calls1 !== undefined && kind === 'wasm-3-filters') s.guest_calls_per_req = Math.round((calls1 - calls0) / Math.max(1, r.total) * 100) / 100;
  return s;
}

export async function benchGateway(opts: GatewayBenchOptions, note: (s: string) => void): Promise<Record<string, Scenario>> {
  note(`gateway: load by ${loadTool()}${loadTool() === 'wrk' ? ' (1 thread)' : ' (install wrk for a load generator that leaves the gateway more CPU)'}, ${opts.connections} connections, ${opts.rounds} round(s) of ${opts.durationS} s per scenario, servers interleaved, medians`);
  const up = await startUpstream();
  const out: Record<string, Scenario> = {};
  const servers: Array<[ServerKind, Server]> = [];
  try {
    for (const kind of KINDS) {
      const server = await startServer(kind, up.url);
      if (typeof server === 'string') note(`gateway/${kind}: skipped: ${server}`);
      else servers.push([kind, server]);
    }
    for (const [, server] of servers) {
      for (const method of METHODS) await closedLoad(requestJob(server.url, method, opts.connections, 1)); // warm-up
    }
    // Rounds interleave the servers, so a change in the machine's background load (a shared
    // machine) falls on every server alike instead of on whichever ran at the time.
    const rounds: Record<string, Scenario[]> = {};
    for (let round = 0; round < opts.rounds; round++) {
      for (const [kind, server] of servers) {
        for (const method of METHODS) (rounds[`gateway/${kind}/${method}`] ??= []).push(await measure(kind, server, method, opts));
      }
    }
    for (const [key, rs] of Object.entries(rounds)) out[key] = medianScenario(rs);
    await Promise.all(servers.splice(0).map(([, s]) => s.close()));
    const max = out['gateway/no-filter/GET']?.ops_per_s;
    const chainMax = out['gateway/wasm-3-filters/GET']?.ops_per_s;
    if (max) Object.assign(out, await benchLatency({ upstream: up.url, maxRps: max, chainMaxRps: chainMax, durationS: opts.latencyDurationS, request: (url, m) => requestJob(url, m, opts.connections, 0) }, note));
  } finally {
    await Promise.all(servers.map(([, s]) => s.close()));
    up.stop();
  }
  return out;
}
