/**
 * The listener holds against hostile clients: half-sent heads and bodies are cut within their
 * timeouts, idle keep-alive connections go, connections past the cap are refused, and heads with
 * too many fields are answered 431, while well-behaved clients keep being served.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import type { GatewayConfig, ListenConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startEchoUpstream, startTestGateway, type TestGateway } from '../helpers/servers.ts';
import { sleep, until } from '../gateway/helpers.ts';

const track = useCleanup();

async function gatewayWith(listen: ListenConfig, upstreamUrl?: string): Promise<TestGateway> {
  const url = upstreamUrl ?? track(await startEchoUpstream()).url;
  const config: GatewayConfig = { listen, upstreams: { u: { endpoints: [url] } }, routes: [{ name: 'r', upstream: 'u' }] };
  return track(await startTestGateway(config));
}

/** An upstream that answers with the body it received, and counts requests whose body never ended. */
async function bodyUpstream(): Promise<{ url: string; cutShort: () => number }> {
  let cut = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('latin1'); });
    req.on('error', () => {});
    req.on('close', () => { if (!req.complete) cut++; });
    req.on('end', () => res.end(JSON.stringify({ path: req.url, body })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  track({ close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, cutShort: () => cut };
}

interface RawClient {
  socket: Socket;
  /** Everything the gateway sent so far. */
  received: () => string;
  closed: () => boolean;
}

/** A raw TCP client that sends `text` and then whatever the test writes, nothing more. */
async function rawClient(port: number, text: string): Promise<RawClient> {
  const socket = connect(port, '127.0.0.1');
  let got = '';
  let isClosed = false;
  socket.on('data', (c: Buffer) => { got += c.toString('latin1'); });
  socket.on('error', () => {});
  socket.on('close', () => { isClosed = true; });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  if (text) socket.write(text);
  track({ close: async () => { socket.destroy(); } });
  return { socket, received: () => got, closed: () => isClosed };
}

async function ok(gw: TestGateway): Promise<void> {
  const r = await request(`${gw.url}/ok`);
  await r.body.text();
  expect(r.statusCode).toBe(200);
}

describe('listener timeouts', () => {
  it('half-sent request heads (slowloris) get 408 and a closed socket within headersTimeoutMs', async () => {
    const gw = await gatewayWith({ headersTimeoutMs: 500 });
    const clients = await Promise.all(Array.from({ length: 40 }, (_, i) => rawClient(gw.port, `GET /s${i} HTTP/1.1\r\nHost: x\r\n`)));
    // Trickle a header line now and then: activity on the socket must not reset the head's deadline.
    const drip = setInterval(() => { for (const c of clients) if (!c.closed()) c.socket.write('X-Drip: 1\r\n'); }, 100);
    try {
      await until(() => clients.every((c) => c.closed()), 'every slowloris socket to be closed', 4000);
    } finally {
      clearInterval(drip);
    }
    expect(clients.every((c) => c.received().startsWith('HTTP/1.1 408'))).toBe(true);
    await ok(gw);
  });

  it('a keep-alive follow-up whose head never completes is cut too', async () => {
    const gw = await gatewayWith({ headersTimeoutMs: 500, keepAliveTimeoutMs: 10_000 });
    const c = await rawClient(gw.port, 'GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => c.received().includes('"path":"/first"'), 'the first response');
    c.socket.write('GET /second HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => { if (!c.closed()) c.socket.write('X-Drip: 1\r\n'); }, 100);
    try {
      await until(c.closed, 'the follow-up slowloris to be closed', 4000);
    } finally {
      clearInterval(drip);
    }
    expect(c.received()).not.toContain('"path":"/second"');
  });

  it('a request body that stops arriving gets 408 (or a cut) within requestBodyIdleTimeoutMs, and the upstream never gets a whole request', async () => {
    const up = await bodyUpstream();
    const gw = await gatewayWith({ requestBodyIdleTimeoutMs: 400 }, up.url);
    const c = await rawClient(gw.port, 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
    await until(c.closed, 'the stalled upload to be closed', 4000);
    const answer = c.received();
    expect(answer === '' || answer.startsWith('HTTP/1.1 408')).toBe(true);
    expect(answer).not.toContain('"path":"/upload"');
    expect(gw.exchangesInFlight()).toBe(0);
    // The upstream saw the forwarded request end short (aborted), not complete.
    await until(() => up.cutShort() === 1, 'the upstream to see the request cut short');
    await ok(gw);
  });

  it('a slow but steady request body is not cut: the bound is the gap, not the total', async () => {
    const up = await bodyUpstream();
    const gw = await gatewayWith({ requestBodyIdleTimeoutMs: 400 }, up.url);
    const c = await rawClient(gw.port, 'POST /steady HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n');
    for (let i = 0; i < 10; i++) {
      c.socket.write(String(i));
      await sleep(100);
    }
    await until(() => c.received().includes('"body":"0123456789"'), 'the echoed body');
    expect(c.received()).toMatch(/^HTTP\/1\.1 200/);
  });

  it('an idle keep-alive connection is closed after keepAliveTimeoutMs', async () => {
    const gw = await gatewayWith({ keepAliveTimeoutMs: 300 });
    const c = await rawClient(gw.port, 'GET /once HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => c.received().includes('"path":"/once"'), 'the response');
    await until(c.closed, 'the idle keep-alive connection to be closed', 3000);
  });
});

describe('listener caps', () => {
  it('connections past maxConnections are closed on accept; a freed slot serves again', async () => {
    const gw = await gatewayWith({ maxConnections: 5 });
    const held: RawClient[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await rawClient(gw.port, 'GET /held HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => c.received().includes('"path":"/held"'), `held connection ${i}`);
      held.push(c);
    }
    const extra = await rawClient(gw.port, 'GET /extra HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(extra.closed, 'the connection past the cap to be closed', 3000);
    expect(extra.received()).toBe('');
    held[0]!.socket.destroy();
    await until(() => held[0]!.closed(), 'a held connection to go');
    await sleep(50);
    const next = await rawClient(gw.port, 'GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => next.received().includes('"path":"/next"'), 'a connection in the freed slot to be served');
  });

  it('a head with more fields than maxHeaderCount gets 431; one within it is served', async () => {
    const gw = await gatewayWith({ maxHeaderCount: 20 });
    const many: Record<string, string> = {};
    for (let i = 0; i < 30; i++) many[`x-h${i}`] = 'v';
    const r = await request(`${gw.url}/many`, { headers: many });
    await r.body.text();
    expect(r.statusCode).toBe(431);
    const few: Record<string, string> = {};
    for (let i = 0; i < 10; i++) few[`x-h${i}`] = 'v';
    const r2 = await request(`${gw.url}/few`, { headers: few });
    await r2.body.text();
    expect(r2.statusCode).toBe(200);
  });

  it('a head larger than maxHeaderBytes gets 431', async () => {
    const gw = await gatewayWith({ maxHeaderBytes: 4096 });
    const c = await rawClient(gw.port, `GET /big HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
    await until(() => c.received().length > 0 || c.closed(), 'an answer');
    expect(c.received()).toMatch(/^HTTP\/1\.1 431/);
    await ok(gw);
  });
});
