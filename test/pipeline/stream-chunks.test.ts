/**
 * The request-body reader the filter phase uses instead of Node's stream iterator
 * (runtime/pipeline/stream-chunks.ts): same chunks, same pacing, same end and failure behaviour,
 * over real loopback requests; and the gateway's body-reading chain no longer goes through the
 * stream iterator at all (its per-request cost is what the reader exists to save).
 */
import { IncomingMessage, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { chunksOf } from '../../runtime/pipeline/stream-chunks.ts';
import { oneRoute, sleep, until } from '../gateway/helpers.ts';
import { pluginPath, startEchoUpstream, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers = [];
});

/** A server handing each request to `onRequest`; its port. */
async function serve(onRequest: (req: IncomingMessage, answer: (s: string) => void) => void): Promise<number> {
  const server: Server = createServer((req, res) => onRequest(req, (s) => res.end(s)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return (server.address() as AddressInfo).port;
}

describe('chunksOf', () => {
  it('yields each chunk as it arrives, in order, and ends with the body', async () => {
    const seen: string[] = [];
    let done: Promise<void> = Promise.resolve();
    const port = await serve((req, answer) => {
      done = (async () => {
        for await (const c of chunksOf(req)) seen.push(c.toString());
        answer('ok');
      })();
    });
    const client = request({ port, host: '127.0.0.1', method: 'POST', path: '/' });
    const answered = new Promise<string>((resolve) => client.on('response', (r) => { let t = ''; r.on('data', (c) => (t += c)).on('end', () => resolve(t)); }));
    client.write('one');
    // Not read ahead nor held back: the first chunk is seen before the second is sent.
    await until(() => seen.length === 1, 'the first chunk');
    client.write('two');
    await until(() => seen.length === 2, 'the second chunk');
    client.end('three');
    expect(await answered).toBe('ok');
    await done;
    expect(seen).toEqual(['one', 'two', 'three']);
  });

  it('throws when the client goes away mid-body, rather than ending or hanging', async () => {
    let outcome: string | undefined;
    const port = await serve((req) => {
      void (async () => {
        try {
          for await (const _ of chunksOf(req)) { /* reading */ }
          outcome = 'ended';
        } catch (err) {
          outcome = `threw ${(err as Error).message}`;
        }
      })();
    });
    const client = request({ port, host: '127.0.0.1', method: 'POST', path: '/', headers: { 'content-length': '100' } });
    client.on('error', () => {});
    client.write('partial');
    await sleep(50);
    client.destroy();
    await until(() => outcome !== undefined, 'the reader to finish');
    expect(outcome).toMatch(/^threw /);
  });

  it('destroys the request when the consumer stops early, and the connection can still answer', async () => {
    let incoming: IncomingMessage | undefined;
    const port = await serve((req, answer) => {
      incoming = req;
      void (async () => {
        for await (const _ of chunksOf(req)) break;
        answer('early');
      })();
    });
    const client = request({ port, host: '127.0.0.1', method: 'POST', path: '/', headers: { 'content-length': '100' } });
    client.on('error', () => {});
    const answered = new Promise<string>((resolve) => client.on('response', (r) => { let t = ''; r.on('data', (c) => (t += c)).on('end', () => resolve(t)); }));
    client.write('first');
    // As for-await on the stream: the request is destroyed but detached from its socket first,
    // so the answer (a 413 past a filter's ceiling, in the gateway) still reaches the client.
    expect(await answered).toBe('early');
    expect(incoming?.destroyed).toBe(true);
    client.destroy();
  });
});

describe('the gateway reading a request body for a filter', () => {
  let upstream: TestServer;
  let gw: TestGateway;

  it('sends the body on intact without the stream async iterator on the client request', async () => {
    upstream = await startEchoUpstream();
    closers.push(() => upstream.close());
    gw = await startTestGateway(oneRoute({ deny: { path: pluginPath('deny-list'), config: { patterns: ['jailbreak'] } } }, ['deny'], { main: upstream.url }));
    closers.push(() => gw.close());
    const gwPort = Number(new URL(gw.url).port);
    // Counts the iterators opened on requests the gateway received (the echo upstream, in this
    // process too, reads its own requests with for-await).
    type Iter = (this: IncomingMessage) => AsyncIterator<unknown>;
    const proto = IncomingMessage.prototype as unknown as Record<typeof Symbol.asyncIterator, Iter>;
    const original = proto[Symbol.asyncIterator];
    let onGateway = 0;
    proto[Symbol.asyncIterator] = function (this: IncomingMessage) {
      if (this.socket?.localPort === gwPort) onGateway++;
      return original.call(this);
    };
    closers.push(async () => { proto[Symbol.asyncIterator] = original; });
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'hello there' }] });
    const res = await fetch(`${gw.url}/v1/chat`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect((await res.json() as { body: string }).body).toBe(body);
    const denied = await fetch(`${gw.url}/v1/chat`, { method: 'POST', body: 'a jailbreak' });
    expect(denied.status).toBe(403);
    await denied.text();
    expect(onGateway).toBe(0);
  });
});
