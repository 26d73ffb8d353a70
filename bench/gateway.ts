/**
 * Gateway throughput and latency at fixed concurrency: no filters; 3 wasm filters (header-router,
 * request-headers, deny-list with its body buffered) via startGateway; the same 3 behaviours as
 * plain-JS filters in the same pipeline; nginx proxying the same upstream when installed.
 * The upstream and the load generator (autocannon) each run in their own process.
 */
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { GatewayConfig, RouteConfig } from '../runtime/config/types.ts';
import { handleExchange } from '../runtime/gateway/exchange.ts';
import { startGateway } from '../runtime/gateway/gateway.ts';
import { DEFAULT_PATH_POLICY } from '../runtime/gateway/paths.ts';
import { RouteTable } from '../runtime/gateway/routes.ts';
import type { GatewayState } from '../runtime/gateway/state.ts';
import { Upstreams } from '../runtime/gateway/upstreams.ts';
import type { ChainFilter } from '../runtime/pipeline/filter.ts';
import { HookInvoker } from '../runtime/pipeline/invoke.ts';
import { Pipeline } from '../runtime/pipeline/pipeline.ts';
import { DEFAULT_POOL_LIMITS, PluginPool } from '../runtime/pool/plugin-pool.ts';
import { SubrequestBridge } from '../runtime/subrequest/index.ts';
import { jsFactory } from './js-filters.ts';
import type { Scenario } from './stats.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = fileURLToPath(new URL('../', import.meta.url));

export const FILTER_CONFIGS = {
  'header-router': { routes: { 'gpt-4': 'main', 'llama-3': 'main' }, default: 'main' },
  'request-headers': { set: { 'x-praxis': '1' }, remove: ['x-drop'], requestId: 'x-request-id', serverTiming: true },
  'deny-list': { patterns: ['ignore previous instructions', 'jailbreak'], maxBytes: 65536 },
} as const;
const NAMES = Object.keys(FILTER_CONFIGS) as Array<keyof typeof FILTER_CONFIGS>;

function forkTs(file: string): ChildProcess {
  return fork(join(HERE, file), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

export async function startUpstream(): Promise<{ url: string; stop: () => void }> {
  const child = forkTs('upstream-server.ts');
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (c) => reject(new Error(`upstream exited ${c}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => { child.kill(); } };
}

interface LoadResult { rps: number; p50_ms: number; p99_ms: number; mean_ms: number; non2xx: number; errors: number; timeouts: number; total: number }

async function load(url: string, connections: number, durationS: number): Promise<LoadResult> {
  const child = forkTs('load-runner.ts');
  const body = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hello there, how are you today?' }] });
  child.send({ url: `${url}/v1/chat/completions`, connections, durationS, method: 'POST', body, headers: { 'content-type': 'application/json', 'x-model': 'gpt-4', 'x-drop': 'yes' } });
  const r = await new Promise<LoadResult | { error: string }>((resolve) => child.once('message', (m) => resolve(m as LoadResult)));
  child.kill();
  if ('error' in r) throw new Error(r.error);
  return r;
}

function route(filters: string[]): RouteConfig {
  return { name: 'main', upstream: 'main', filters };
}

/** A gateway wired by hand (as startGateway does) around plain-JS filters. */
async function startJsGateway(upstream: string): Promise<{ url: string; close: () => Promise<void> }> {
  const logger = pino({ level: 'silent' });
  const filters: ChainFilter[] = [];
  for (const name of NAMES) {
    const pool = await PluginPool.create(name, jsFactory(name), JSON.stringify(FILTER_CONFIGS[name]), DEFAULT_POOL_LIMITS, {
      httpSubrequest: async () => ({ ok: false, error: { tag: 'denied', reason: 'configure' } }),
      httpSubrequestAll: async (r) => r.map(() => ({ ok: false as const, error: { tag: 'denied' as const, reason: 'configure' } })),
      contextGet: () => undefined, contextSet: () => {}, log: () => {},
    });
    filters.push({ name, pool, info: pool.info, failure: 'closed', subrequests: { plugin: name, allowedHosts: [], maxInFlight: 64 } });
  }
  const bridge = new SubrequestBridge({ logger });
  const upstreams = new Upstreams({ main: { endpoints: [upstream] } }, { connectTimeoutMs: 2000 });
  const routes = new RouteTable([route([...NAMES])], DEFAULT_PATH_POLICY);
  const state: GatewayState = {
    logger, accessLog: logger.child({ log: 'access' }), routes, paths: DEFAULT_PATH_POLICY,
    pipelines: new Map([['main', new Pipeline(filters, new HookInvoker(bridge))]]), upstreams, bridge, maxDepth: 4,
  };
  const server = createServer({ keepAlive: true, requestTimeout: 0 }, (req, res) => {
    handleExchange(state, req, res).catch(() => { if (!res.headersSent) res.writeHead(500).end(); else res.destroy(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await Promise.all([...filters.map((f) => f.pool.close()), bridge.close(), upstreams.close()]);
    },
  };
}

function wasmConfig(upstream: string, filters: boolean): GatewayConfig {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    plugins: filters
      ? Object.fromEntries(NAMES.map((n) => [n, { path: `${ROOT}plugins/${n}/dist/${n}.wasm`, config: FILTER_CONFIGS[n] }]))
      : {},
    upstreams: { main: { endpoints: [upstream] } },
    routes: [route(filters ? [...NAMES] : [])],
    log: { level: 'silent' },
  };
}

async function startNginx(upstream: string): Promise<{ url: string; close: () => Promise<void> } | string> {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
  } catch {
    return 'nginx is not on PATH';
  }
  const dir = mkdtempSync(join(tmpdir(), 'praxis-bench-nginx-'));
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const u = new URL(upstream);
  writeFileSync(join(dir, 'nginx.conf'), `
daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  upstream up { server ${u.hostname}:${u.port}; keepalive 64; }
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
`);
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  if (child.exitCode !== null) return `nginx exited with ${child.exitCode} (see ${dir}/error.log)`;
  return { url: `http://127.0.0.1:${port}`, close: async () => { child.kill(); } };
}

function scenario(r: LoadResult): Scenario {
  return { p50_us: r.p50_ms * 1000, p99_us: r.p99_ms * 1000, ops_per_s: Math.round(r.rps), mean_us: Math.round(r.mean_ms * 1000), total: r.total, non2xx: r.non2xx, errors: r.errors };
}

export async function benchGateway(opts: { durationS: number; connections: number }, note: (s: string) => void): Promise<Record<string, Scenario>> {
  const up = await startUpstream();
  const out: Record<string, Scenario> = {};
  try {
    const run = async (name: string, start: () => Promise<{ url: string; close: () => Promise<void> } | string>): Promise<void> => {
      const gw = await start();
      if (typeof gw === 'string') {
        note(`gateway/${name}: skipped: ${gw}`);
        return;
      }
      try {
        await load(gw.url, opts.connections, 1); // warm-up
        // CPU time of this process (where the in-process gateways run) per request: steadier
        // than throughput on a small machine shared with the load generator and the upstream.
        const cpu = process.cpuUsage();
        const result = await load(gw.url, opts.connections, opts.durationS);
        const used = process.cpuUsage(cpu);
        out[`gateway/${name}`] = {
          ...scenario(result),
          ...(name === 'direct-upstream' || name === 'nginx' ? {} : { cpu_us_per_req: Math.round((used.user + used.system) / Math.max(1, result.total)) }),
        };
      } finally {
        await gw.close();
      }
    };
    await run('direct-upstream', async () => ({ url: up.url, close: async () => {} }));
    await run('no-filter', () => startGateway(wasmConfig(up.url, false), { logger: pino({ level: 'silent' }) }));
    await run('wasm-3-filters', () => startGateway(wasmConfig(up.url, true), { logger: pino({ level: 'silent' }) }));
    await run('js-3-filters', () => startJsGateway(up.url));
    await run('nginx', () => startNginx(up.url));
  } finally {
    up.stop();
  }
  return out;
}
