/** Shared bits of the orchestration suites: a gateway on a chosen port, clients, polling. */
import { createServer as createNetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { type LogLine, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A loopback port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Like startTestGateway, but on a port known before the config is written (for self-calls). */
export function startGatewayOn(config: GatewayConfig, port: number): Promise<TestGateway> {
  return startTestGateway(config, port);
}

export interface AccessLine extends LogLine {
  id: string;
  status: number;
  path: string;
  depth?: number;
  subrequests?: Array<{ plugin: string; method: string; url: string; status?: number; outcome: string; bytesIn: number; bytesOut: number; durationMs: number }>;
}

export function accessLines(gw: TestGateway): AccessLine[] {
  return gw.logs.filter((l) => l.msg === 'access') as AccessLine[];
}

/** Polls until `check` returns a value other than undefined/false, or fails after `ms`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, ms = 3000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  ms: number;
}

export async function call(url: string, opts: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  const started = performance.now();
  const res = await request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, body: opts.body ?? null });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, ms: performance.now() - started };
}

/** Counts the TCP connections a test server accepts. */
export function countConnections(s: TestServer): { readonly count: number } {
  const state = { count: 0 };
  s.server.on('connection', (_sock: Socket) => { state.count++; });
  return state;
}

export function header(r: Reply, name: string): string | undefined {
  const v = r.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
