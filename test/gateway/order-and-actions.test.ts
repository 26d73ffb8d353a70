/** Hook order across a chain, and every action a filter can answer, seen on the wire. */
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEchoUpstream, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { guestLines, oneRoute, sleep, testkit } from './helpers.ts';

let echo: TestServer;
let other: TestServer;
let gw: TestGateway | undefined;

beforeAll(async () => {
  echo = await startEchoUpstream();
  other = await startEchoUpstream();
});
afterAll(async () => { await echo.close(); await other.close(); });
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  echo.seen.length = 0;
  other.seen.length = 0;
});

async function* chunks(parts: string[], gapMs = 60): AsyncGenerator<Buffer> {
  for (const p of parts) {
    yield Buffer.from(p);
    await sleep(gapMs);
  }
}

describe('hook order', () => {
  it('request hooks run in chain order, response hooks in reverse', async () => {
    gw = await startTestGateway(oneRoute({
      a: testkit({ name: 'a', order: true }),
      b: testkit({ name: 'b', order: true }),
      c: testkit({ name: 'c', order: true }),
    }, ['a', 'b', 'c'], { main: echo.url }));

    const r1 = await request(`${gw.url}/x`);
    await r1.body.text();
    expect(echo.seen[0]!.headers['x-order']).toBe('a,b,c');
    expect(r1.headers['x-order']).toBe('c,b,a');

    const r2 = await request(`${gw.url}/x`, { headers: { 'x-order': 'client' } });
    await r2.body.text();
    expect(echo.seen[1]!.headers['x-order']).toBe('client,a,b,c');
    expect(r2.headers['x-order']).toBe('c,b,a');
  });
});

describe('actions', () => {
  it('continue with header mutations: set and remove reach the upstream, response header reaches the client', async () => {
    gw = await startTestGateway(oneRoute({
      m: testkit({ setRequestHeader: ['x-added', 'by-m'], removeRequestHeader: 'x-drop', setResponseHeader: ['x-resp', 'by-m'] }),
    }, ['m'], { main: echo.url }));
    const r = await request(`${gw.url}/m`, { headers: { 'x-drop': 'secret', 'x-keep': 'kept' } });
    await r.body.text();
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-resp']).toBe('by-m');
    const seen = echo.seen[0]!.headers;
    expect(seen['x-added']).toBe('by-m');
    expect(seen['x-drop']).toBeUndefined();
    expect(seen['x-keep']).toBe('kept');
  });

  it('continue with an upstream choice picks that upstream', async () => {
    gw = await startTestGateway(oneRoute({ r: testkit({ upstreamFromHeader: 'x-up' }) }, ['r'], { main: echo.url, other: other.url }));
    await (await request(`${gw.url}/one`, { headers: { 'x-up': 'other' } })).body.text();
    await (await request(`${gw.url}/two`)).body.text();
    await (await request(`${gw.url}/three`, { headers: { 'x-up': 'main' } })).body.text();
    expect(other.seen.map((s) => s.url)).toEqual(['/one']);
    expect(echo.seen.map((s) => s.url)).toEqual(['/two', '/three']);
  });

  it('reject at request headers: the client gets the rejection, the upstream nothing; only earlier filters see the response', async () => {
    gw = await startTestGateway(oneRoute({
      a: testkit({ name: 'a', order: true }),
      b: testkit({ name: 'b', order: true }),
      c: testkit({ name: 'c', order: true, rejectStatus: 418, rejectBody: 'no tea here' }),
      d: testkit({ name: 'd', order: true, setResponseHeader: ['x-d', 'ran'] }),
    }, ['a', 'b', 'c', 'd'], { main: echo.url }));
    const r = await request(`${gw.url}/r`, { method: 'POST', body: 'payload' });
    expect(r.statusCode).toBe(418);
    expect(await r.body.text()).toBe('no tea here');
    expect(r.headers['x-rejected-by']).toBe('c');
    // a and b passed, so their response hooks run (reverse order); c rejected, d never ran.
    expect(r.headers['x-order']).toBe('b,a');
    expect(r.headers['x-d']).toBeUndefined();
    expect(echo.seen).toHaveLength(0);
  });

  it('release: a held request body is let go once the filter says so, and later chunks stream past the ceiling', async () => {
    gw = await startTestGateway(oneRoute({
      rel: testkit({ requestBody: 'buffer:64', releaseAt: 16, logChunks: true }),
    }, ['rel'], { main: echo.url }));
    const parts = ['a'.repeat(20), 'b'.repeat(500), 'c'.repeat(500)];
    const r = await request(`${gw.url}/rel`, { method: 'POST', body: Readable.from(chunks(parts)) });
    expect(r.statusCode).toBe(200);
    await r.body.text();
    expect(echo.seen[0]!.body).toBe(parts.join(''));
  });

  it('body-done: the filter sees only the first chunk; the rest passes without it (and without its ceiling)', async () => {
    gw = await startTestGateway(oneRoute({
      bd: testkit({ requestBody: 'buffer:64', bodyDoneAfterFirst: true, logChunks: true }),
    }, ['bd'], { main: echo.url }));
    const parts = ['first', 'x'.repeat(300), 'y'.repeat(300)];
    const r = await request(`${gw.url}/bd`, { method: 'POST', body: Readable.from(chunks(parts)) });
    expect(r.statusCode).toBe(200);
    await r.body.text();
    expect(echo.seen[0]!.body).toBe(parts.join(''));
    const lines = guestLines(gw.logs, 'chunk request');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toContain('first');
  });

  it('reject at response headers replaces the upstream answer', async () => {
    gw = await startTestGateway(oneRoute({ rr: testkit({ name: 'rr', rejectResponseStatus: 451 }) }, ['rr'], { main: echo.url }));
    const r = await request(`${gw.url}/rr`);
    expect(r.statusCode).toBe(451);
    expect(await r.body.text()).toBe('replaced by rr');
    expect(r.headers['x-upstream']).toBeUndefined();
    expect(echo.seen).toHaveLength(1);
  });
});
