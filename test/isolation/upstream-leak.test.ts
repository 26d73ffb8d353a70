/**
 * No upstream connection outlives its exchange. An exchange cut short (the client leaves while
 * the gateway waits for the head or streams the body, or the route timeout ends it) aborts its
 * upstream request; that connection must close, and no other may be opened in its place: undici
 * reconnects for an aborted request (see runtime/gateway/upstream-agent.ts), and such a
 * connection would sit open for the keep-alive timeout, where the upstream cannot close it.
 * The upstreams here count their own open sockets, so the check is what the upstream sees.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.ts';
import { startTestGateway, type TestGateway } from '../helpers/servers.ts';
import { until } from '../gateway/helpers.ts';

const track = useCleanup();

interface CountingUpstream {
  url: string;
  server: Server;
  /** Sockets open on the upstream's side right now. */
  open: Set<Socket>;
  requests: number;
  close(): Promise<void>;
}

async function upstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<CountingUpstream> {
  const open = new Set<Socket>();
  const server = createServer({ keepAlive: true }, (req, res) => {
    up.requests++;
    handler(req, res);
  });
  // A long keep-alive (advertised to the gateway, which keeps idle connections that long): a
  // connection left open by mistake stays open well past the waits here.
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: Socket) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const up: CountingUpstream = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, open, requests: 0,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  return up;
}

/** Never answers: only the gateway ending the exchange frees the connection. */
const stalling = (): Promise<CountingUpstream> => upstream((req) => { req.resume(); });

/** Sends its head, then a chunk every 50 ms for as long as someone reads. */
const trickling = (): Promise<CountingUpstream> => upstream((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain' });
  const timer = setInterval(() => res.write('tick;'), 50);
  res.on('close', () => clearInterval(timer));
});

/**
 * A client on a socket of its own that goes away: after `ms`, or at the first body chunk when
 * `ms` is 0. Resolves with the status when an answer came before it left.
 */
function leave(url: string, ms: number): Promise<number | 'left'> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      res.once('data', () => { if (ms === 0) req.destroy(); });
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve('left'));
    });
    req.on('error', () => resolve('left'));
    req.on('close', () => resolve('left'));
    if (ms > 0) setTimeout(() => req.destroy(), ms);
    req.end();
  });
}

async function gateway(up: CountingUpstream, timeoutMs = 10_000): Promise<TestGateway> {
  return track(await startTestGateway({
    upstreams: { u: { endpoints: [up.url] } },
    routes: [{ name: 'r', upstream: 'u', timeoutMs }],
  }));
}

/** Once every exchange has ended, the upstream must see every connection close (a generous wait: a stray one stays for the keep-alive timeout). */
async function expectNothingHeld(gw: TestGateway, up: CountingUpstream): Promise<void> {
  await until(() => gw.exchangesInFlight() === 0, 'the exchanges to end');
  await until(() => up.open.size === 0, 'the upstream connections to close', 5000).catch(() => {});
  expect(up.open.size).toBe(0);
}

const CLIENTS = 6;

describe('upstream connections end with their exchange', () => {
  it('clients that leave while the gateway waits for the head', async () => {
    const up = track(await stalling());
    const gw = await gateway(up);
    const outcomes = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => leave(`${gw.url}/wait/${i}`, 200)));
    expect(outcomes).toEqual(Array(CLIENTS).fill('left'));
    await until(() => up.requests === CLIENTS, 'every request to reach the upstream');
    await expectNothingHeld(gw, up);
  });

  it('exchanges the route timeout ends (504)', async () => {
    const up = track(await stalling());
    const gw = await gateway(up, 300);
    const outcomes = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => leave(`${gw.url}/timeout/${i}`, 10_000)));
    expect(outcomes).toEqual(Array(CLIENTS).fill(504));
    await expectNothingHeld(gw, up);
  });

  it('clients that leave mid-body while the upstream trickles', async () => {
    const up = track(await trickling());
    const gw = await gateway(up);
    const outcomes = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => leave(`${gw.url}/body/${i}`, 0)));
    expect(outcomes).toEqual(Array(CLIENTS).fill('left'));
    await expectNothingHeld(gw, up);
  });

  it('a connection that finished its exchange is still reused (keep-alive is untouched)', async () => {
    let answered = 0;
    const up = track(await upstream((req, res) => { req.resume(); res.end(`ok ${++answered}`); }));
    const gw = await gateway(up);
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${gw.url}/ok/${i}`);
      expect(await r.text()).toBe(`ok ${i + 1}`);
    }
    expect(up.requests).toBe(3);
    expect(up.open.size).toBe(1);
  });
});
