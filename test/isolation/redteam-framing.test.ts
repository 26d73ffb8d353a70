/**
 * Red-team: a filter or a client that lies about HTTP framing. A filter's content-length over a
 * body it did not change, a 1xx "rejection", framing or `expect` headers set on the upstream
 * request, and a client's `Expect: 100-continue` must neither desync a connection nor turn into
 * an upstream failure; classic smuggling forms from a client are refused before any filter runs.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.ts';
import { startEchoUpstream, startServer, startTestGateway } from '../helpers/servers.ts';
import { oneRoute, testkit, until } from '../gateway/helpers.ts';

const track = useCleanup();

/** Writes `text` on one socket and collects what comes back until the peer is quiet for `quietMs`. */
async function raw(port: number, text: string, quietMs = 400): Promise<string> {
  const s = connect(port, '127.0.0.1');
  let out = '';
  let last = Date.now();
  s.on('data', (d: Buffer) => { out += d.toString('latin1'); last = Date.now(); });
  s.on('error', () => {});
  s.write(text);
  await until(() => Date.now() - last > quietMs, 'a quiet socket', 10_000);
  s.destroy();
  return out;
}

/** Splits a byte stream of HTTP/1.1 responses by their framing (content-length or chunked). */
function responses(stream: string): Array<{ status: number; body: string }> {
  const out: Array<{ status: number; body: string }> = [];
  let rest = stream;
  while (rest.length) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`not a response: ${JSON.stringify(rest.slice(0, 80))}`);
    const head = rest.slice(0, end);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
    if (!status) throw new Error(`not a status line: ${JSON.stringify(head.slice(0, 80))}`);
    rest = rest.slice(end + 4);
    const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      let body = '';
      for (;;) {
        const nl = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, nl), 16);
        body += rest.slice(nl + 2, nl + 2 + size);
        rest = rest.slice(nl + 2 + size + 2);
        if (size === 0) break;
      }
      out.push({ status, body });
    } else {
      const n = cl && status !== 204 && status >= 200 ? Number(cl[1]) : 0;
      out.push({ status, body: rest.slice(0, n) });
      rest = rest.slice(n);
    }
  }
  return out;
}

const TWO = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n';

describe('a filter that lies about framing', () => {
  it('a content-length set on the response over an unchanged body does not desync the client connection', async () => {
    const up = track(await startServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('x'.repeat(100)); }));
    for (const forged of ['5', '500']) {
      const gw = track(await startTestGateway(oneRoute({ t: testkit({ setResponseHeader: ['content-length', forged] }) }, ['t'], { main: up.url })));
      // Before the fix: "content-length: 5" then 100 bytes, whose rest read as a second response (or 500, and a client waiting forever).
      expect(responses(await raw(gw.port, TWO))).toEqual([{ status: 200, body: 'x'.repeat(100) }, { status: 200, body: 'x'.repeat(100) }]);
    }
  });

  it('a rejection with a 1xx status (or past 599) is an invalid action, not an interim answer that leaves the client waiting', async () => {
    const up = track(await startEchoUpstream());
    for (const status of [100, 101, 103, 600]) {
      const gw = track(await startTestGateway(oneRoute({ t: testkit({ rejectStatus: status, rejectBody: 'hi' }) }, ['t'], { main: up.url })));
      const got = responses(await raw(gw.port, TWO));
      expect(got.map((r) => r.status)).toEqual([500, 500]);
      expect(JSON.parse(got[0]!.body)).toMatchObject({ error: { type: 'filter_failed', plugin: 't' } });
      expect(gw.logs.some((l) => l.kind === 'invalid-action')).toBe(true);
    }
  });

  it('a 204 rejection claims no body', async () => {
    const up = track(await startEchoUpstream());
    const gw = track(await startTestGateway(oneRoute({ t: testkit({ rejectStatus: 204, rejectBody: 'hi' }) }, ['t'], { main: up.url })));
    const text = await raw(gw.port, TWO);
    expect(text).not.toMatch(/content-length/i);
    expect(responses(text).map((r) => r.status)).toEqual([204, 204]);
  });

  it('framing and expect headers a filter sets on the request are dropped; the body keeps its own length', async () => {
    const up = track(await startEchoUpstream());
    const sets: Array<[string, string]> = [
      ['content-length', '0'], ['content-length', '3'], ['transfer-encoding', 'chunked'], ['expect', '100-continue'],
      ['upgrade', 'websocket'], ['connection', 'close'], ['te', 'trailers'], ['host', 'evil.example'], ['x-request-id', 'forged'],
    ];
    for (const set of sets) {
      const gw = track(await startTestGateway(oneRoute({ t: testkit({ setRequestHeader: set }) }, ['t'], { main: up.url })));
      const res = await fetch(`${gw.url}/a`, { method: 'POST', body: 'hello world', headers: { 'x-request-id': 'client-id' } });
      expect(res.status, set.join(': ')).toBe(200);
      const seen = (await res.json()) as { body: string; headers: Record<string, string> };
      expect(seen.body).toBe('hello world');
      expect(seen.headers['content-length']).toBe('11');
      expect(seen.headers.host).not.toBe('evil.example');
      expect(seen.headers['x-request-id']).toBe('client-id');
      expect(seen.headers.expect).toBeUndefined();
      expect(seen.headers.upgrade).toBeUndefined();
    }
  });
});

describe('a client that lies about framing', () => {
  it('Expect: 100-continue (curl sends it for bodies over 1 KiB) is answered by the gateway and not forwarded', async () => {
    const up = track(await startEchoUpstream());
    const gw = track(await startTestGateway(oneRoute({ t: testkit({}) }, ['t'], { main: up.url })));
    const text = await raw(gw.port, 'POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\nhello world');
    const final = text.slice(text.indexOf('HTTP/1.1 200'));
    expect(text.startsWith('HTTP/1.1 100 Continue')).toBe(true);
    const [res] = responses(final);
    expect(res!.status).toBe(200); // was 502: undici refuses an expect header
    expect(JSON.parse(res!.body)).toMatchObject({ body: 'hello world' });
  });

  it('smuggling forms are refused with 400 and the connection closed, and no filter or upstream sees them', async () => {
    const up = track(await startEchoUpstream());
    const gw = track(await startTestGateway(oneRoute({ t: testkit({ logHooks: true }) }, ['t'], { main: up.url })));
    const forms = [
      'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
      'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
      'GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n',
      'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
    ];
    for (const form of forms) {
      const text = await raw(gw.port, form);
      expect(text.startsWith('HTTP/1.1 400'), JSON.stringify(form)).toBe(true);
    }
    expect(up.seen).toHaveLength(0);
    expect((await fetch(`${gw.url}/ok`)).status).toBe(200);
  });
});

describe('a client that lies about its Host', () => {
  it('two Host headers are refused with 400; a host route matches whatever the case', async () => {
    const up = track(await startEchoUpstream());
    const gw = track(await startTestGateway({
      plugins: {}, upstreams: { main: { endpoints: [up.url] } },
      routes: [
        { name: 'admin', upstream: 'main', filters: [], match: { headers: { host: 'admin.internal' } } },
        { name: 'public', upstream: 'main', filters: [] },
      ],
    }));
    for (const hosts of [['public', 'admin.internal'], ['admin.internal', 'public']]) {
      const text = await raw(gw.port, `GET /a HTTP/1.1\r\nHost: ${hosts[0]}\r\nHost: ${hosts[1]}\r\n\r\n`);
      expect(text.startsWith('HTTP/1.1 400'), hosts.join(' + ')).toBe(true);
    }
    expect(up.seen).toHaveLength(0);
    expect(responses(await raw(gw.port, 'GET /a HTTP/1.1\r\nHost: ADMIN.Internal\r\n\r\n'))[0]!.status).toBe(200);
    const routes = gw.logs.filter((l) => l.msg === 'access' && l.status === 200).map((l) => l.route);
    expect(routes).toEqual(['admin']);
  });
});
