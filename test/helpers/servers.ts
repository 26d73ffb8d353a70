/** Real loopback HTTP servers for tests, and a gateway wired to them with captured logs. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { type Gateway, startGateway } from '../../runtime/gateway/gateway.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Path of a built plugin (plugins/<name>) or fixture (test/fixtures/<name>). */
export function pluginPath(name: string): string {
  return `${ROOT}plugins/${name}/dist/${name}.wasm`;
}
export function fixturePath(name: string): string {
  return `${ROOT}test/fixtures/${name}/dist/${name}.wasm`;
}

export interface TestServer {
  url: string;
  port: number;
  server: Server;
  /** Requests seen so far, with their bodies. */
  seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

export async function startServer(handler: Handler): Promise<TestServer> {
  const seen: TestServer['seen'] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    try {
      for await (const c of req) chunks.push(c as Buffer);
    } catch {
      return; // the gateway aborted this upstream request (its client left): nothing to answer
    }
    const body = Buffer.concat(chunks).toString('utf8');
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    await handler(req, res, body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`, port, server, seen,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** An upstream that echoes method, path, headers and body as JSON. */
export function startEchoUpstream(): Promise<TestServer> {
  return startServer((req, res, body) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'echo' });
    res.end(JSON.stringify({ method: req.method, path: req.url, headers: req.headers, body }));
  });
}

export interface LogLine { level: number; msg: string; [key: string]: unknown }

export interface TestGateway extends Gateway {
  logs: LogLine[];
}

/**
 * Starts a gateway on a loopback port (a free one unless `port` is given: a test whose config
 * must name the gateway's own address picks the port first) whose pino lines are kept in `logs`.
 */
export async function startTestGateway(config: GatewayConfig, port = 0): Promise<TestGateway> {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const gw = await startGateway({ ...config, listen: { ...config.listen, host: '127.0.0.1', port } }, { logger, cacheDir: `${ROOT}.praxis-cache` });
  return Object.assign(gw, { logs });
}
