/**
 * Writes never wait forever: a client that stops reading a large streaming response, then
 * leaves (or just stays silent), ends the exchange, and the upstream sees its request go away,
 * whether the body is piped straight through or flows through a streaming filter.
 */
import { createServer } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { PluginConfig, RouteConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startTestGateway, type TestGateway } from '../helpers/servers.ts';
import { oneRoute, sleep, testkit, until } from '../gateway/helpers.ts';

const track = useCleanup();

interface Firehose {
  url: string;
  /** Bytes the upstream has written so far. */
  written: () => number;
  /** Whether the upstream's response was closed before it ended (the gateway let go). */
  released: () => boolean;
}

/** An upstream that streams 64 KiB chunks for as long as it is read, and never ends. */
async function firehose(): Promise<Firehose> {
  let written = 0;
  let released = false;
  const chunk = Buffer.alloc(64 * 1024, 97);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let open = true;
    res.on('close', () => { open = false; released = true; });
    const pump = () => {
      while (open && res.write(chunk)) written += chunk.length;
      if (open) {
        written += chunk.length;
        res.once('drain', pump);
      }
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  track({ close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, written: () => written, released: () => released };
}

/** Asks for the stream and reads nothing: every buffer between the upstream and here fills up. */
async function stalledClient(gw: TestGateway): Promise<{ socket: Socket; closed: () => boolean }> {
  const socket = connect(gw.port, '127.0.0.1');
  let closed = false;
  socket.on('error', () => {});
  socket.on('close', () => { closed = true; });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.pause();
  socket.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
  track({ close: async () => { socket.destroy(); } });
  return { socket, closed: () => closed };
}

/** Waits until the upstream has written something and then made no progress for a while (backpressured). */
async function untilBackpressured(up: Firehose): Promise<void> {
  await until(() => up.written() > 0, 'the upstream to start streaming');
  let last = -1;
  while (up.written() !== last) {
    last = up.written();
    await sleep(300);
  }
}

async function gatewayFor(upstream: string, filtered: boolean, route: Partial<RouteConfig> = {}): Promise<TestGateway> {
  const plugins: Record<string, PluginConfig> = filtered ? { s: testkit({ responseBody: 'stream' }) } : {};
  return track(await startTestGateway(oneRoute(plugins, filtered ? ['s'] : [], { main: upstream }, route)));
}

describe('a client that stops reading and then disconnects', () => {
  for (const filtered of [true, false]) {
    it(`ends the exchange and releases the upstream (${filtered ? 'through a streaming filter' : 'piped straight through'})`, async () => {
      const up = await firehose();
      const gw = await gatewayFor(up.url, filtered);
      const client = await stalledClient(gw);
      await untilBackpressured(up);
      expect(gw.exchangesInFlight()).toBe(1);
      client.socket.destroy();
      await until(() => up.released(), 'the upstream to see its response closed');
      await until(() => gw.exchangesInFlight() === 0, 'the exchange to end');
      expect(gw.poolStats().every((p) => p.borrowed === 0)).toBe(true);
    });
  }
});

describe('a client that stops reading and stays connected', () => {
  for (const filtered of [true, false]) {
    it(`is cut after the route's idleTimeoutMs, and the upstream released (${filtered ? 'through a streaming filter' : 'piped straight through'})`, async () => {
      const up = await firehose();
      const gw = await gatewayFor(up.url, filtered, { idleTimeoutMs: 500 });
      const client = await stalledClient(gw);
      await until(() => up.released(), 'the upstream to be released', 8000);
      await until(() => gw.exchangesInFlight() === 0, 'the exchange to end');
      // Read what was buffered: behind it the gateway's side of the connection is gone.
      client.socket.resume();
      await until(client.closed, 'the silent client to be disconnected');
      expect(gw.logs.some((l) => l.log === 'access' && typeof l.detail === 'string' && l.detail.includes('stalled'))).toBe(true);
    });
  }
});
