/**
 * The soak's loopback upstreams: one well-behaved (answers every request with a body derived
 * from its id, and counts each id so a duplicate forward is seen), and the faulty ones: one
 * that resets the connection, one that never answers, one that trickles its body.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Upstream {
  url: string;
  server: Server;
  close(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Upstream> {
  const server = createServer({ keepAlive: true }, handler);
  server.keepAliveTimeout = 2_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** What the good upstream answers to a request: the id and the header the route's filter sets. */
export function expectedBody(id: string, filterMark: string | undefined): string {
  return `ok ${id} filter=${filterMark ?? '-'}`;
}

/** The body the slow upstream trickles, CHUNKS pieces of it. */
export const SLOW_CHUNKS = 8;
export function slowBody(id: string): string {
  return Array.from({ length: SLOW_CHUNKS }, (_, i) => `${id}:${i};`).join('');
}

export interface SoakUpstreams {
  good: Upstream & { seen: Map<string, number> };
  reset: Upstream;
  stall: Upstream;
  slow: Upstream;
  closeAll(): Promise<void>;
  /** Closes the idle keep-alive connections the gateway holds to every upstream. */
  closeIdle(): void;
}

export async function startUpstreams(): Promise<SoakUpstreams> {
  const seen = new Map<string, number>();
  const good = await listen((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['x-soak-id'] ?? '');
      seen.set(id, (seen.get(id) ?? 0) + 1);
      const mark = req.headers['x-soak-filter'];
      res.writeHead(200, { 'content-type': 'text/plain' }).end(expectedBody(id, typeof mark === 'string' ? mark : undefined));
    });
  });
  // Resets before any response byte: the gateway must answer 502 and keep nothing of it.
  const reset = await listen((req) => { req.socket.resetAndDestroy(); });
  // Never answers: the route's deadline (504) or the client going away must free everything.
  const stall = await listen((req) => { req.resume(); });
  const slow = await listen((req, res) => {
    req.resume();
    const id = String(req.headers['x-soak-id'] ?? '');
    res.writeHead(200, { 'content-type': 'text/plain' });
    let i = 0;
    const timer = setInterval(() => {
      if (res.destroyed) { clearInterval(timer); return; }
      res.write(`${id}:${i};`);
      if (++i === SLOW_CHUNKS) { clearInterval(timer); res.end(); }
    }, 40);
    res.on('close', () => clearInterval(timer));
  });
  const all = [good, reset, stall, slow];
  return {
    good: Object.assign(good, { seen }), reset, stall, slow,
    closeAll: async () => { await Promise.all(all.map((u) => u.close())); },
    closeIdle: () => { for (const u of all) u.server.closeIdleConnections(); },
  };
}
