/**
 * Tracing cost (issue 12): the gateway's CPU per request over the wasm chain with tracing off,
 * on with a no-op exporter (every request sampled: server, hook and upstream spans built, then
 * dropped) and on with OTLP/HTTP export to a loopback collector (in this process; it answers 200
 * and counts the spans' bytes). Each gateway runs in its own process (tracing-server.ts) so /proc
 * gives its own CPU; the modes are interleaved over rounds, medians reported.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { METHODS, requestJob } from './gateway.ts';
import { closedLoad } from './load.ts';
import { processCpuUs } from './proc-cpu.ts';
import { startUpstream } from './servers/launch.ts';
import { type Scenario, medianScenario } from './stats.ts';
import {
  bindRequest, endServerSpan, endSpan, endUpstreamSpan, hookDecided, startHookSpan, startServerSpan, startUpstreamSpan, tracingOn,
} from '../runtime/observability/tracing.ts';

const SERVER = fileURLToPath(new URL('./tracing-server.ts', import.meta.url));
export const TRACING_MODES = ['off', 'noop', 'otlp'] as const;

export interface TracingBenchOptions { durationS: number; rounds: number; connections: number }

function startTraced(mode: string, upstream: string, collector: string): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(SERVER, [mode, upstream, collector], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, url: `http://127.0.0.1:${(m as { port: number }).port}` }));
    child.once('exit', (c) => reject(new Error(`tracing-server ${mode} exited ${c}`)));
  });
}

/** A loopback OTLP collector: takes every POST /v1/traces, counts exports and bytes. */
async function startCollector(): Promise<{ url: string; exports: () => number; close: () => void }> {
  let exports = 0;
  const server = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => { exports++; res.writeHead(200, { 'content-type': 'application/json' }).end('{}'); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exports: () => exports, close: () => { server.closeAllConnections(); server.close(); } };
}

/**
 * What tracing costs a request while off, measured directly: the calls one request through the
 * 3-filter chain makes (server span, 6 hook calls, one upstream attempt), in this process where
 * tracing is off, in nanoseconds per request. Each returns on its first null check.
 */
function offPathNs(iterations: number): number {
  if (tracingOn()) throw new Error('tracing must be off in the bench process');
  const headers: Array<[string, string]> = [['host', 'x'], ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']];
  const flat = ['x-request-id', 'id'];
  const ctx = {};
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const span = startServerSpan(headers, 'GET', '/v1/chat', 'id');
      bindRequest(ctx, span, 'GET', 'main');
      for (let h = 0; h < 6; h++) {
        const hook = startHookSpan(ctx, 'request-headers', 'on-request-headers');
        hookDecided(hook, 'continue');
        endSpan(hook);
      }
      endUpstreamSpan(startUpstreamSpan(ctx, 'main', 'http://127.0.0.1:1', 1, flat), 200);
      endServerSpan(span, 200);
    }
  };
  run(iterations); // warm-up: optimised before it is timed
  const t0 = process.hrtime.bigint();
  run(iterations);
  return Number(process.hrtime.bigint() - t0) / iterations;
}

export async function benchTracing(opts: TracingBenchOptions, note: (s: string) => void): Promise<Record<string, Scenario>> {
  const up = await startUpstream();
  const collector = await startCollector();
  const servers: Array<[string, { child: ChildProcess; url: string }]> = [];
  const out: Record<string, Scenario> = {};
  try {
    for (const mode of TRACING_MODES) servers.push([mode, await startTraced(mode, up.url, collector.url)]);
    for (const [, s] of servers) for (const m of METHODS) await closedLoad(requestJob(s.url, m, opts.connections, 1)); // warm-up
    const rounds: Record<string, Scenario[]> = {};
    for (let round = 0; round < opts.rounds; round++) {
      for (const [mode, s] of servers) {
        for (const m of METHODS) {
          const cpu0 = processCpuUs(s.child.pid!);
          const r = await closedLoad(requestJob(s.url, m, opts.connections, opts.durationS));
          const cpu1 = processCpuUs(s.child.pid!);
          const sc: Scenario = { p50_us: Math.round(r.p50_ms * 1000), p99_us: Math.round(r.p99_ms * 1000), ops_per_s: Math.round(r.rps), total: r.total, non2xx: r.non2xx };
          if (cpu0 !== undefined && cpu1 !== undefined) sc.cpu_us_per_req = Math.round((cpu1 - cpu0) / Math.max(1, r.total) * 10) / 10;
          (rounds[`tracing/${mode}/${m}`] ??= []).push(sc);
        }
      }
    }
    // The least CPU per request over the rounds as well: on a shared machine, the round least disturbed.
    for (const [k, rs] of Object.entries(rounds)) out[k] = { ...medianScenario(rs), cpu_min: Math.min(...rs.map((r) => Number(r.cpu_us_per_req ?? Infinity))) };
    const ns = offPathNs(1_000_000);
    out['tracing/off-path-calls'] = { p50_us: Math.round(ns) / 1000, p99_us: 0, ops_per_s: Math.round(1e9 / ns), ns_per_req: Math.round(ns * 10) / 10 };
    note(`tracing: the wasm chain (3 filters), ${opts.connections} connections, ${opts.rounds} round(s) of ${opts.durationS} s per mode; the collector took ${collector.exports()} OTLP exports`);
  } finally {
    for (const [, s] of servers) s.child.kill();
    collector.close();
    up.stop();
  }
  return out;
}
