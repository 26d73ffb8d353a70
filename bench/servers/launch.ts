/**
 * Starts each benchmarked server in its own process (the upstream, the minimal proxy, the
 * gateways, nginx) and hands back its URL and pid, so the load generator can drive it and
 * /proc can tell its CPU time apart from everyone else's.
 */
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = fileURLToPath(new URL('../', import.meta.url));

export type ServerKind = 'minimal-proxy' | 'no-filter' | 'wasm-3-filters' | 'js-3-filters' | 'nginx';
export interface Server { url: string; pid: number; guestCalls(): Promise<number | undefined>; close(): Promise<void> }

function forkWithPort(file: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(join(BENCH, file), args, { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, port: (m as { port: number }).port }));
    child.once('exit', (c) => reject(new Error(`${file} exited ${c}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => { child.once('exit', () => resolve()); child.kill(); });
}

/** The upstream (`processes` > 1: several processes sharing its port). */
export async function startUpstream(processes = 1): Promise<{ url: string; stop: () => void }> {
  const { child, port } = await forkWithPort('upstream-server.ts', [String(processes)]);
  return { url: `http://127.0.0.1:${port}`, stop: () => { child.kill(); } };
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

export function nginxInstalled(): boolean {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** nginx in one process (no master), one worker's worth of CPU, keep-alive to the upstream. */
async function startNginx(upstream: string): Promise<Server | string> {
  if (!nginxInstalled()) return 'nginx is not on PATH';
  const dir = mkdtempSync(join(tmpdir(), 'praxis-bench-nginx-'));
  const port = await freePort();
  const u = new URL(upstream);
  writeFileSync(join(dir, 'nginx.conf'), `
daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  upstream up { server ${u.hostname}:${u.port}; keepalive 64; }
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
`);
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  if (child.exitCode !== null) return `nginx exited with ${child.exitCode} (see ${dir}/error.log)`;
  return {
    url: `http://127.0.0.1:${port}`, pid: child.pid!, guestCalls: async () => undefined,
    close: async () => { await stop(child); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** One benchmarked server in front of `upstream`; a string says why it cannot run here. */
export async function startServer(kind: ServerKind, upstream: string): Promise<Server | string> {
  if (kind === 'nginx') return startNginx(upstream);
  const { child, port } = kind === 'minimal-proxy'
    ? await forkWithPort('servers/minimal-proxy.ts', [upstream])
    : await forkWithPort('servers/gateway-server.ts', [kind, upstream]);
  return {
    url: `http://127.0.0.1:${port}`, pid: child.pid!,
    guestCalls: () => new Promise((resolve) => {
      if (kind === 'minimal-proxy') { resolve(undefined); return; }
      child.once('message', (m) => resolve((m as { guestCalls: number | null }).guestCalls ?? undefined));
      child.send('guest-calls');
    }),
    close: () => stop(child),
  };
}
