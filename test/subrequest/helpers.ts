import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { SubrequestBridge } from '../../runtime/subrequest/bridge.ts';
import { startTrace } from '../../runtime/subrequest/identity.ts';
import type { ParentRequest, PluginSubrequestPolicy, SubrequestBridgeOptions, SubrequestRecord } from '../../runtime/subrequest/options.ts';
import type { Subrequest } from '../../runtime/component/types.ts';

export interface TestServer {
  server: Server;
  port: number;
  host: string;
  /** TCP connections accepted so far. */
  connections: number;
  /** Requests seen so far. */
  requests: number;
  url(path?: string): string;
  close(): Promise<void>;
}

export async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    state.requests++;
    handler(req, res);
  });
  server.on('connection', (s) => {
    state.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const state: TestServer = {
    server,
    port,
    host: `127.0.0.1:${port}`,
    connections: 0,
    requests: 0,
    url: (path = '/') => `http://127.0.0.1:${port}${path}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return state;
}

export interface LogCapture {
  lines: Array<Record<string, unknown>>;
}

export function makeBridge(options: Partial<SubrequestBridgeOptions> = {}): { bridge: SubrequestBridge; logs: LogCapture } {
  const logs: LogCapture = { lines: [] };
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') logs.lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  return { bridge: new SubrequestBridge({ ...options, logger }), logs };
}

export interface TestParent extends ParentRequest {
  records: SubrequestRecord[];
  controller: AbortController;
}

export function makeParent(overrides: Partial<Omit<ParentRequest, 'record' | 'signal'>> = {}): TestParent {
  const controller = new AbortController();
  const records: SubrequestRecord[] = [];
  return {
    requestId: 'req-1',
    attempt: 1,
    traceparent: startTrace(),
    depth: 0,
    deadline: Date.now() + 30_000,
    ...overrides,
    signal: controller.signal,
    controller,
    records,
    record: (e) => records.push(e),
  };
}

export function policy(allowedHosts: string[], extra: Partial<PluginSubrequestPolicy> = {}): PluginSubrequestPolicy {
  return { plugin: 'p1', allowedHosts, maxInFlight: 64, ...extra };
}

export function get(url: string, extra: Partial<Subrequest> = {}): Subrequest {
  return { method: 'GET', url, headers: [], ...extra };
}

export function text(body: Uint8Array): string {
  return Buffer.from(body).toString('utf8');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond` holds (polling), or throws after `ms`. */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(5);
  }
}
