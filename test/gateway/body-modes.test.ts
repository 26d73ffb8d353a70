/** Body modes on the wire: stream, stream-buffer (rewrite, ceiling), and bodies nobody asked for. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEchoUpstream, startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { guestLines, jsonError, oneRoute, sleep, testkit, until } from './helpers.ts';

let echo: TestServer;
let gw: TestGateway | undefined;

beforeAll(async () => { echo = await startEchoUpstream(); });
afterAll(() => echo.close());
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  echo.seen.length = 0;
});

describe('request body', () => {
  it('stream: the filter sees each chunk of a chunked upload as it arrives', async () => {
    gw = await startTestGateway(oneRoute({ s: testkit({ requestBody: 'stream', logChunks: true }) }, ['s'], { main: echo.url }));
    const g = gw;
    const parts = ['part-one', 'part-two', 'part-three'];
    async function* upload(): AsyncGenerator<Buffer> {
      for (const [i, p] of parts.entries()) {
        yield Buffer.from(p);
        // The next chunk is only sent once the filter has logged this one.
        await until(() => guestLines(g.logs, 'chunk request').length > i, `filter to see ${p}`);
      }
    }
    const r = await request(`${gw.url}/up`, { method: 'POST', body: Readable.from(upload()) });
    expect(r.statusCode).toBe(200);
    await r.body.text();
    const lines = guestLines(gw.logs, 'chunk request').map((l) => l.msg);
    expect(lines.slice(0, 3)).toEqual(parts.map((p) => `chunk request ${p.length} eos=0 ${p}`));
    expect(lines.at(-1)).toMatch(/eos=1/);
    expect(echo.seen[0]!.body).toBe(parts.join(''));
  });

  it('buffer:N with a rewrite: the upstream gets the upper-cased body with its own content-length', async () => {
    gw = await startTestGateway(oneRoute({ u: testkit({ requestBody: 'buffer:4096', upperCaseBody: 'request' }) }, ['u'], { main: echo.url }));
    const r = await request(`${gw.url}/u`, { method: 'POST', body: 'hello wasm world' });
    expect(r.statusCode).toBe(200);
    await r.body.text();
    const seen = echo.seen[0]!;
    expect(seen.body).toBe('HELLO WASM WORLD');
    expect(seen.headers['content-length']).toBe('16');
    expect(seen.headers['transfer-encoding']).toBeUndefined();
  });

  it('buffer:N with a rewrite of a body that came in several chunks', async () => {
    gw = await startTestGateway(oneRoute({ u: testkit({ requestBody: 'buffer:4096', upperCaseBody: 'request' }) }, ['u'], { main: echo.url }));
    async function* upload(): AsyncGenerator<Buffer> {
      yield Buffer.from('hello ');
      await sleep(30);
      yield Buffer.from('wasm world');
    }
    const r = await request(`${gw.url}/u`, { method: 'POST', body: Readable.from(upload()) });
    expect(r.statusCode).toBe(200);
    await r.body.text();
    const seen = echo.seen[0]!;
    expect(seen.body).toBe('HELLO WASM WORLD');
    expect(seen.headers['content-length']).toBe('16');
  });

  it('past the stream-buffer ceiling: 413 naming the plugin, and the upstream sees nothing', async () => {
    gw = await startTestGateway(oneRoute({ small: testkit({ requestBody: 'buffer:100' }) }, ['small'], { main: echo.url }));
    const r = await request(`${gw.url}/big`, { method: 'POST', body: 'x'.repeat(1000) });
    expect(r.statusCode).toBe(413);
    const err = jsonError(await r.body.text());
    expect(err.type).toBe('body_too_large');
    expect(err.plugin).toBe('small');
    expect(err.limit).toBe(100);
    expect(echo.seen).toHaveLength(0);
  });

  it('no body mode: a 5 MiB upload streams through without the gateway holding it', async () => {
    let received = 0;
    let done: (n: number) => void = () => {};
    const finished = new Promise<number>((r) => { done = r; });
    const counting: Server = createServer((req, res) => {
      req.on('data', (c: Buffer) => { received += c.length; });
      req.on('end', () => { done(received); res.end('ok'); });
    });
    await new Promise<void>((r) => counting.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(counting.address() as AddressInfo).port}`;
    try {
      gw = await startTestGateway(oneRoute({ plain: testkit({ order: true }) }, ['plain'], { main: url }));
      const MiB = 1024 * 1024;
      let receivedBeforePart2 = -1;
      async function* upload(): AsyncGenerator<Buffer> {
        yield Buffer.alloc(MiB, 1);
        // Part 2 is only sent once the upstream has bytes: the gateway must not hold the body.
        await until(() => received > 0, 'the upstream to receive part 1');
        receivedBeforePart2 = received;
        for (let i = 0; i < 4; i++) yield Buffer.alloc(MiB, 2);
      }
      const r = await request(`${gw.url}/upload`, { method: 'POST', body: Readable.from(upload()) });
      expect(r.statusCode).toBe(200);
      expect(await r.body.text()).toBe('ok');
      expect(receivedBeforePart2).toBeGreaterThan(0);
      expect(await finished).toBe(5 * MiB);
    } finally {
      counting.closeAllConnections();
      await new Promise<void>((r) => counting.close(() => r()));
    }
  });
});

describe('response body', () => {
  it('buffer with a rewrite: the client gets the upper-cased body', async () => {
    const up = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11' });
      res.end('hello world');
    });
    try {
      gw = await startTestGateway(oneRoute({ u: testkit({ responseBody: 'buffer:4096', upperCaseBody: 'response' }) }, ['u'], { main: up.url }));
      const r = await request(`${gw.url}/u`);
      expect(r.statusCode).toBe(200);
      expect(await r.body.text()).toBe('HELLO WORLD');
    } finally {
      await up.close();
    }
  });

  it('stream: the filter sees each SSE event as it comes, and the client gets it before the next is sent', async () => {
    const state = { clientGotEvent1: false, event2Sent: false, waitedOut: false };
    let g: TestGateway | undefined;
    const sse = await startServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      try {
        await until(() => g !== undefined && guestLines(g.logs, 'chunk response').some((l) => l.msg.includes('data: one'))
          && state.clientGotEvent1, 'the filter and the client to see event 1');
      } catch {
        state.waitedOut = true;
      }
      state.event2Sent = true;
      res.end('data: two\n\n');
    });
    try {
      gw = await startTestGateway(oneRoute({ s: testkit({ responseBody: 'stream', logChunks: true }) }, ['s'], { main: sse.url }));
      g = gw;
      const r = await request(`${gw.url}/events`);
      expect(r.statusCode).toBe(200);
      let text = '';
      let event2SentWhenEvent1Arrived: boolean | undefined;
      for await (const chunk of r.body) {
        text += (chunk as Buffer).toString('utf8');
        if (event2SentWhenEvent1Arrived === undefined && text.includes('data: one')) {
          event2SentWhenEvent1Arrived = state.event2Sent;
          state.clientGotEvent1 = true;
        }
      }
      expect(state.waitedOut).toBe(false);
      expect(event2SentWhenEvent1Arrived).toBe(false);
      expect(text).toBe('data: one\n\ndata: two\n\n');
      const lines = guestLines(gw.logs, 'chunk response').map((l) => l.msg);
      expect(lines[0]).toBe('chunk response 11 eos=0 data: one\n\n');
      expect(lines.some((l) => l.includes('data: two'))).toBe(true);
    } finally {
      await sse.close();
    }
  });

  it('SSE with no body-mode filter arrives event by event, gaps preserved', async () => {
    const GAP = 250;
    const sse = await startServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 1; i <= 3; i++) {
        res.write(`data: ${i}\n\n`);
        await sleep(GAP);
      }
      res.end();
    });
    try {
      gw = await startTestGateway(oneRoute({ o: testkit({ order: true }) }, ['o'], { main: sse.url }));
      const started = Date.now();
      const r = await request(`${gw.url}/sse`);
      expect(r.headers['content-type']).toBe('text/event-stream');
      const arrivals: Array<{ at: number; text: string }> = [];
      for await (const chunk of r.body) arrivals.push({ at: Date.now() - started, text: (chunk as Buffer).toString('utf8') });
      expect(arrivals.map((a) => a.text).join('')).toBe('data: 1\n\ndata: 2\n\ndata: 3\n\n');
      const at = (n: number) => arrivals.find((a) => a.text.includes(`data: ${n}`))!.at;
      expect(at(2) - at(1)).toBeGreaterThanOrEqual(GAP - 60);
      expect(at(3) - at(2)).toBeGreaterThanOrEqual(GAP - 60);
    } finally {
      await sse.close();
    }
  });
});
