/** What the gateway itself adds to, and strips from, a proxied request and its response. */
import { connect } from 'node:net';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TestGateway, type TestServer, startServer, startTestGateway } from '../helpers/servers.ts';
import { oneRoute } from './helpers.ts';

let upstream: TestServer;
let gw: TestGateway;
beforeAll(async () => {
  upstream = await startServer((req, res) => {
    // Hop-by-hop headers on the way back must not reach the client either.
    res.writeHead(200, { 'content-type': 'application/json', connection: 'x-up-private', 'x-up-private': 'no', 'keep-alive': 'timeout=5', 'x-up-public': 'yes' });
    res.end(JSON.stringify(req.headers));
  });
  gw = await startTestGateway(oneRoute({}, [], { main: upstream.url }));
});
afterAll(async () => {
  await gw.close();
  await upstream.close();
});
afterEach(() => { upstream.seen.length = 0; });

async function seenBy(headers: Record<string, string>): Promise<{ upstream: Record<string, string>; client: Record<string, unknown> }> {
  const res = await request(`${gw.url}/x`, { headers });
  expect(res.statusCode).toBe(200);
  return { upstream: (await res.body.json()) as Record<string, string>, client: res.headers };
}

describe('forwarding', () => {
  it('keeps a sane client request id and replaces a hostile one', async () => {
    expect((await seenBy({ 'x-request-id': 'abc-123' })).upstream['x-request-id']).toBe('abc-123');
    const long = (await seenBy({ 'x-request-id': 'a'.repeat(300) })).upstream['x-request-id'];
    expect(long).toMatch(/^[0-9a-f-]{36}$/);
    const spaced = (await seenBy({ 'x-request-id': 'two words' })).upstream['x-request-id'];
    expect(spaced).not.toBe('two words');
  });

  it('adds x-forwarded-for/-host/-proto, appending to an incoming chain', async () => {
    const { upstream: h } = await seenBy({ 'x-forwarded-for': '10.0.0.1' });
    expect(h['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    expect(h['x-forwarded-host']).toBe(new URL(gw.url).host);
    expect(h['x-forwarded-proto']).toBe('http');
  });

  it('strips hop-by-hop headers both ways, including those a Connection header names', async () => {
    // A raw request: HTTP clients manage `connection` themselves and would not send ours.
    const { port } = new URL(gw.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(port), '127.0.0.1', () => {
        sock.write('GET /x HTTP/1.1\r\nhost: gw\r\nconnection: close, x-private\r\nx-private: secret\r\nte: trailers\r\nproxy-authorization: Basic Zm9v\r\n\r\n');
      });
      let text = '';
      sock.on('data', (d: Buffer) => { text += d.toString('latin1'); });
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    const [head, body] = raw.split('\r\n\r\n');
    const h = JSON.parse(body!.slice(body!.indexOf('{'), body!.lastIndexOf('}') + 1)) as Record<string, string>;
    expect(h['x-private']).toBeUndefined();
    expect(h['proxy-authorization']).toBeUndefined();
    expect(h.te).toBeUndefined();
    expect(head).not.toMatch(/^x-up-private:/im);
    expect(head).toMatch(/^x-up-public: yes$/im);
  });
});
