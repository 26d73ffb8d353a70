/**
 * What a filter's sub-request looks like from outside, through a running gateway: the identity
 * headers the callee receives (host-owned, never forgeable), the allow-list refusing targets
 * before any connection, and the parent's access-log line listing its sub-requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, startEchoUpstream, startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { accessLines, call, countConnections, waitFor } from './support.ts';

let upstream: TestServer;
let callee: TestServer;
let other: TestServer;
let calleeConns: { readonly count: number };
let otherConns: { readonly count: number };
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  callee = await startServer((req, res) => {
    const status = /^\/status\/(\d{3})/.exec(req.url ?? '')?.[1];
    res.writeHead(status ? Number(status) : 200, { 'content-type': 'text/plain' });
    res.end(`callee ${req.url}`);
  });
  other = await startServer((_req, res) => { res.end('other'); });
  calleeConns = countConnections(callee);
  otherConns = countConnections(other);
  const tk = fixturePath('testkit');
  const urlHeaders = { subrequestUrlHeader: 'x-sub-url', fanoutUrlsHeader: 'x-fanout-urls' };
  gw = await startTestGateway({
    plugins: {
      tk: { path: tk, config: urlHeaders, allowedHosts: [`127.0.0.1:${callee.port}`] },
      forger: { path: tk, config: { ...urlHeaders, forgeHeaders: true }, allowedHosts: [`127.0.0.1:${callee.port}`] },
      byname: { path: tk, config: urlHeaders, allowedHosts: [`localhost:${callee.port}`] },
    },
    upstreams: { echo: { endpoints: [upstream.url] } },
    routes: [
      { name: 'forge', match: { pathPrefix: '/forge' }, upstream: 'echo', filters: ['forger'] },
      { name: 'byname', match: { pathPrefix: '/byname' }, upstream: 'echo', filters: ['byname'] },
      { name: 'plain', match: { pathPrefix: '/' }, upstream: 'echo', filters: ['tk'] },
    ],
  });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([upstream?.close(), callee?.close(), other?.close()]);
});

/** Headers the upstream received, from the echo body. */
function upstreamHeaders(text: string): Record<string, string> {
  return (JSON.parse(text) as { headers: Record<string, string> }).headers;
}

describe('identity headers through the gateway', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const spanId = '00f067aa0ba902b7';

  for (const [route, label] of [['/plain', 'a plain filter'], ['/forge', 'a filter forging identity headers']] as const) {
    it(`the callee gets the client's request id, attempt 1, a child traceparent and depth 1 (${label})`, async () => {
      const id = `ident-${route.slice(1)}`;
      const before = callee.seen.length;
      const r = await call(`${gw.url}${route}`, {
        headers: { 'x-request-id': id, traceparent: `00-${traceId}-${spanId}-01`, 'x-sub-url': `${callee.url}/ident${route}` },
      });
      expect(r.status).toBe(200);
      expect(upstreamHeaders(r.text)['x-sub-status']).toBe('200');
      const seen = callee.seen.slice(before);
      expect(seen).toHaveLength(1);
      const h = seen[0]!.headers;
      // Node joins repeated headers with ", ": equality also proves each came exactly once.
      expect(h['x-request-id']).toBe(id);
      expect(h['x-processor-attempt']).toBe('1');
      expect(h['x-praxis-depth']).toBe('1');
      const tp = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(h['traceparent']));
      expect(tp, `traceparent ${String(h['traceparent'])}`).not.toBeNull();
      expect(tp![1]).toBe(traceId);
      expect(tp![2]).not.toBe(spanId);
      expect(tp![2]).not.toBe('0'.repeat(16));
      expect(JSON.stringify(h)).not.toContain('forged');
      expect(JSON.stringify(h)).not.toContain('"99"');
    });
  }
});

describe('denied targets through the gateway', () => {
  const cases: Array<[string, string, () => string, RegExp]> = [
    ['another host', '/plain', () => `http://localhost:${callee.port}/x`, /^denied:host localhost:\d+ not allowed$/],
    ['another port', '/plain', () => `http://127.0.0.1:${other.port}/x`, /^denied:host 127\.0\.0\.1:\d+ not allowed$/],
    ['userinfo', '/plain', () => `http://user:pw@127.0.0.1:${callee.port}/x`, /^denied:userinfo in url not allowed$/],
    ['an IP literal for a host allowed by name', '/byname', () => `http://127.0.0.1:${callee.port}/x`, /^denied:host 127\.0\.0\.1:\d+ not allowed$/],
    ['a numeric IPv4 form for a host allowed by name', '/byname', () => `http://2130706433:${callee.port}/x`, /^denied:host 127\.0\.0\.1:\d+ not allowed$/],
  ];

  for (const [what, route, url, expected] of cases) {
    it(`refuses ${what} with "denied" and opens no connection`, async () => {
      const seen = callee.seen.length;
      const conns = calleeConns.count;
      const r = await call(`${gw.url}${route}/denied`, { headers: { 'x-sub-url': url() } });
      expect(r.status).toBe(200);
      expect(upstreamHeaders(r.text)['x-sub-error']).toMatch(expected);
      await new Promise((res) => setTimeout(res, 50)); // a connection would have been accepted by now
      expect(callee.seen.length).toBe(seen);
      expect(calleeConns.count).toBe(conns);
      expect(otherConns.count).toBe(0);
    });
  }

  it('(control) the allowed target is reached and its connection counted', async () => {
    const seen = callee.seen.length;
    const r = await call(`${gw.url}/plain/allowed`, { headers: { 'x-sub-url': `${callee.url}/ok` } });
    expect(upstreamHeaders(r.text)['x-sub-status']).toBe('200');
    expect(callee.seen.length).toBe(seen + 1);
    expect(calleeConns.count).toBeGreaterThanOrEqual(1);
    expect(otherConns.count).toBe(0);
  });
});

describe('sub-requests in the access log', () => {
  it("lists each sub-request on the parent's line: plugin, method, url without query, status, outcome", async () => {
    const r = await call(`${gw.url}/plain/logged?client=1`, {
      headers: {
        'x-request-id': 'logged-1',
        'x-sub-url': `${callee.url}/status/201?token=secret1`,
        'x-fanout-urls': `${callee.url}/status/404?token=secret2#frag,http://user:pw@127.0.0.1:${callee.port}/nope?token=secret3`,
      },
    });
    expect(r.status).toBe(200);
    expect(upstreamHeaders(r.text)['x-fanout']).toBe('404,denied:userinfo in url not allowed');
    const line = await waitFor('access line', () => accessLines(gw).find((l) => l.id === 'logged-1'));
    expect(line.status).toBe(200);
    const subs = line.subrequests!;
    expect(subs).toHaveLength(3);
    const base = `http://127.0.0.1:${callee.port}`;
    expect(subs.find((s) => s.url === `${base}/status/201`)).toMatchObject({ plugin: 'tk', method: 'GET', status: 201, outcome: 'ok' });
    expect(subs.find((s) => s.url === `${base}/status/404`)).toMatchObject({ plugin: 'tk', method: 'GET', status: 404, outcome: 'ok' });
    const denied = subs.find((s) => s.url === `${base}/nope`);
    expect(denied).toMatchObject({ plugin: 'tk', method: 'GET', outcome: 'denied' });
    expect(denied!.status).toBeUndefined();
    for (const s of subs) expect(typeof s.durationMs).toBe('number');
    const text = JSON.stringify(line);
    for (const secret of ['secret1', 'secret2', 'secret3', 'user:pw', '#frag']) expect(text).not.toContain(secret);
  });
});
