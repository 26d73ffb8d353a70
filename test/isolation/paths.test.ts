/**
 * Request-targets are normalised before routing: no spelling of a path reaches a route's upstream
 * without that route's filters, prefixes match on segment boundaries, and what the upstream and
 * the filters see is the normalised path. Raw sockets, since undici would clean the path first.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { validateConfig } from '../../runtime/config/load.ts';
import { startGateway } from '../../runtime/gateway/gateway.ts';
import { startEchoUpstream, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { jsonError, testkit } from '../gateway/helpers.ts';

interface RawResponse { status: number; headers: Record<string, string>; body: string }

/** Sends `METHOD target HTTP/1.1` byte for byte and reads the whole answer. */
function raw(port: number, target: string, method = 'GET', extra = ''): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(port, '127.0.0.1', () => {
      s.write(Buffer.from(`${method} ${target} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n${extra}\r\n`, 'latin1'));
    });
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('end', () => resolve(parse(Buffer.concat(chunks).toString('latin1'))));
  });
}

function parse(text: string): RawResponse {
  const split = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
  let body = text.slice(split + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    let out = '';
    for (let at = 0; ;) {
      const eol = body.indexOf('\r\n', at);
      const n = parseInt(body.slice(at, eol), 16);
      if (!n) break;
      out += body.slice(eol + 2, eol + 2 + n);
      at = eol + 2 + n + 2;
    }
    body = out;
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body };
}

function config(echo: string, paths?: GatewayConfig['paths']): GatewayConfig {
  return {
    plugins: {
      guard: testkit({ name: 'guard', rejectStatus: 403, rejectBody: 'guarded' }),
      seer: testkit({ name: 'seer', echo: true }),
    },
    upstreams: { echo: { endpoints: [echo] } },
    routes: [
      { name: 'bad', match: { pathPrefix: '/bad' }, upstream: 'echo', filters: ['guard'] },
      { name: 'plain', match: { pathPrefix: '/plain' }, upstream: 'echo' },
      { name: 'v1', match: { pathPrefix: '/v1' }, upstream: 'echo' },
      { name: 'dir', match: { pathPrefix: '/dir/' }, upstream: 'echo' },
      { name: 'seen', match: { pathPrefix: '/seen' }, upstream: 'echo', filters: ['seer'] },
      // Whatever no other route takes: where a bypass would land.
      { name: 'open', upstream: 'echo' },
    ],
    ...(paths ? { paths } : {}),
  };
}

let echo: TestServer;
let gw: TestGateway;
beforeAll(async () => {
  echo = await startEchoUpstream();
  gw = await startTestGateway(config(echo.url));
});
afterAll(async () => {
  await gw?.close();
  await echo?.close();
});

/** The route the access log gives for the request with this id. */
function routeOf(g: TestGateway, id: string): unknown {
  return g.logs.find((l) => l.log === 'access' && l.id === id)?.route;
}

describe('path normalisation before routing', () => {
  it('every other spelling of /bad meets the /bad route and its filter', async () => {
    const spellings = [
      '/bad', '/plain/../bad', '/plain/%2e%2e/bad', '/plain/%2E%2E/bad', '/plain/.%2e/bad', '//bad', '///bad/x',
      '/%62ad', '/%62%61%64', '/./bad', '/%2e/bad', '/plain/./../bad', '/../bad', '/plain//..//bad', '/bad/.', '/BAD/../bad',
    ];
    for (const target of spellings) {
      const r = await raw(gw.port, target);
      expect({ target, status: r.status, by: r.headers['x-rejected-by'] }).toEqual({ target, status: 403, by: 'guard' });
    }
    expect(echo.seen.filter((s) => s.url.includes('bad'))).toEqual([]);
  });

  it('matches a prefix on segment boundaries; a prefix ending in / keeps working', async () => {
    const cases: Array<[string, string]> = [
      ['/v1', 'v1'], ['/v1/', 'v1'], ['/v1/x', 'v1'], ['/v1?x=1', 'v1'], ['/v1evil', 'open'], ['/v1.0', 'open'],
      ['/badness', 'open'], ['/dir/x', 'dir'], ['/dir/', 'dir'], ['/dir', 'open'], ['/dirt', 'open'],
    ];
    for (const [target, route] of cases) {
      const id = `seg-${target}`;
      const r = await raw(gw.port, target, 'GET', `x-request-id: ${id}\r\n`);
      expect(r.status).toBe(200);
      expect({ target, route: routeOf(gw, id) }).toEqual({ target, route });
    }
  });

  it('forwards the normalised path with the query untouched, and shows filters the same path', async () => {
    const r = await raw(gw.port, '/plain/./a//b/%7euser/%41%3a/x/..?q=%2e%2e/../x&r=%2f');
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as { path: string }).path).toBe('/plain/a/b/~user/A%3A/?q=%2e%2e/../x&r=%2f');

    const s = await raw(gw.port, '/seen/x/../y%2e|z?k');
    expect(s.status).toBe(200);
    const seen = JSON.parse(s.body) as { path: string; headers: Record<string, string> };
    expect(seen.path).toBe('/seen/y.%7Cz?k');
    expect(seen.headers['x-echo-path']).toBe('/seen/y.%7Cz?k');
  });

  it('refuses encoded slash and backslash, NUL, raw backslash, bad escapes and other request-target forms with 400', async () => {
    const before = echo.seen.length;
    const refused: Array<[string, string?]> = [
      ['/plain/a%2Fb'], ['/plain/a%2fb'], ['/plain/a%5Cb'], ['/plain/a%5cb'], ['/plain/a%00b'], ['/plain/a\\b'], ['/plain\\..\\bad'],
      ['/plain/a\0b'], ['/plain/%zz'], ['/plain/%4'], ['/plain#/../bad'],
      ['http://gw/bad'], ['*', 'OPTIONS'],
    ];
    for (const [target, method] of refused) {
      const id = `refused-${refused.findIndex(([t]) => t === target)}`;
      const r = await raw(gw.port, target, method, `x-request-id: ${id}\r\n`);
      expect({ target, status: r.status }).toEqual({ target, status: 400 });
      // Node's own parser refuses a raw NUL before the gateway sees it, with an empty 400.
      if (r.body) expect(jsonError(r.body)).toMatchObject({ type: 'bad_request', requestId: id });
    }
    expect(echo.seen.length).toBe(before);
    expect(gw.logs.find((l) => l.log === 'access' && l.id === 'refused-0')).toMatchObject({ status: 400, refused: 'encoded_slash' });
  });
});

describe('the paths block', () => {
  it('mergeSlashes: false keeps empty segments; rejectEncodedSlash: false forwards %2F encoded', async () => {
    const g = await startTestGateway(config(echo.url, { mergeSlashes: false, rejectEncodedSlash: false }));
    try {
      const r = await raw(g.port, '/plain//a/%2f/b%5c?x', 'GET', 'x-request-id: knobs\r\n');
      expect(r.status).toBe(200);
      expect((JSON.parse(r.body) as { path: string }).path).toBe('/plain//a/%2F/b%5C?x');
      // Dot segments still go; `//bad` is then a path of its own, not `/bad`.
      expect((await raw(g.port, '/plain/../bad')).status).toBe(403);
      await raw(g.port, '//bad', 'GET', 'x-request-id: double\r\n');
      expect(routeOf(g, 'double')).toBe('open');
    } finally {
      await g.close();
    }
  });

  it('rejects bad values naming the key, and a prefix no request could match', async () => {
    const bad = (paths: unknown) => ({ ...config(echo.url), paths }) as GatewayConfig;
    expect(() => validateConfig(bad({ mergeSlashes: 'yes' }))).toThrow(/paths\.mergeSlashes: must be boolean/);
    expect(() => validateConfig(bad({ decode: true }))).toThrow(/paths\.decode: unknown key/);
    const withPrefix = (pathPrefix: string) => ({ ...config(echo.url), routes: [{ name: 'r', match: { pathPrefix }, upstream: 'echo' }] });
    expect(() => validateConfig(withPrefix('/a?b'))).toThrow(/routes\[0\]\.match\.pathPrefix/);
    expect(() => validateConfig(withPrefix('/a\\b'))).toThrow(/routes\[0\]\.match\.pathPrefix/);
    await expect(startGateway({ ...withPrefix('/a%2Fb'), listen: { port: 0 }, log: { level: 'silent' } }))
      .rejects.toThrow(/routes\[0\]\.match\.pathPrefix: "\/a%2Fb" can never match a request \(encoded_slash\)/);
  });

  it('a prefix is normalised like a path', async () => {
    const g = await startTestGateway({ ...config(echo.url), routes: [
      { name: 'odd', match: { pathPrefix: '/x/./%7euser//' }, upstream: 'echo', filters: ['guard'] },
      { name: 'open', upstream: 'echo' },
    ] });
    try {
      expect((await raw(g.port, '/x/~user/y')).status).toBe(403);
      expect((await raw(g.port, '/x/%7Euser/y')).status).toBe(403);
    } finally {
      await g.close();
    }
  });
});
