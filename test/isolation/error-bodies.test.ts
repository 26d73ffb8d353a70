/**
 * What the gateway answers itself carries a fixed message, the plugin involved and the request
 * id, never internal text: trap messages (guest pointers), socket errors (addresses, ports,
 * error codes), the client's own path. The detail is in the log, under the same request id.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoUpstream, startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { IMPORTS, hostileComponent } from '../helpers/hostile.ts';
import { jsonError, testkit } from '../gateway/helpers.ts';

/** Patterns no error body may contain, whatever went wrong. */
const INTERNAL = [
  /\b\d{1,3}(?:\.\d{1,3}){3}\b/, // an IPv4 address
  /:\d{2,5}\b/, // a port
  /\bE[A-Z]{4,}\b/, // a socket error code (ECONNREFUSED, ETIMEDOUT, ...)
  /\bat .+:\d+:\d+/, // a stack frame
  /trap|unreachable|out of bounds|RuntimeError|wasm/i,
];

function expectNothingInternal(body: string, ...secrets: string[]): void {
  for (const p of INTERNAL) expect(body).not.toMatch(p);
  for (const s of secrets) expect(body).not.toContain(s);
}

async function get(url: string, id: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const r = await request(url, { headers: { 'x-request-id': id, ...headers } });
  return { status: r.statusCode, body: await r.body.text(), headers: r.headers };
}

/** Every log line written for request `id`, as one string (the operator's view of it). */
function logsOf(gw: TestGateway, id: string): string {
  return gw.logs.filter((l) => l.requestId === id || l.id === id).map((l) => JSON.stringify(l)).join('\n');
}

let dir: string;
let echo: TestServer;
let dead: TestServer;
let gw: TestGateway;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'praxis-error-bodies-'));
  // Hands the host a pointer far outside its memory: the host's trap message names it.
  const wild = join(dir, 'wild.wasm');
  await writeFile(wild, await hostileComponent({ imports: IMPORTS.log, requestHeaders: '(call $log (i32.const 1) (i32.const 0x80000000) (i32.const 8))' }));
  echo = await startEchoUpstream();
  dead = await startServer(() => {});
  await dead.close();
  gw = await startTestGateway({
    plugins: { wild: { path: wild }, halter: testkit({ name: 'halter', trapIfHeader: 'x-trap' }) },
    upstreams: { echo: { endpoints: [echo.url] }, dead: { endpoints: [dead.url] } },
    routes: [
      { name: 'wild', match: { pathPrefix: '/wild' }, upstream: 'echo', filters: ['wild'] },
      { name: 'halt', match: { pathPrefix: '/halt' }, upstream: 'echo', filters: ['halter'] },
      { name: 'dead', match: { pathPrefix: '/dead' }, upstream: 'dead' },
    ],
  });
});
afterAll(async () => {
  await gw?.close();
  await echo?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('error bodies', () => {
  it('a trapping filter: 500 naming the plugin and the request id, no guest text; the log has the trap', async () => {
    const r = await get(`${gw.url}/wild`, 'wild-1');
    expect(r.status).toBe(500);
    expect(jsonError(r.body)).toEqual({
      type: 'filter_failed', message: 'a filter failed to process the request', requestId: 'wild-1', plugin: 'wild', hook: 'on-request-headers',
    });
    expect(r.headers['x-request-id']).toBe('wild-1');
    expectNothingInternal(r.body, '2147483648');
    expect(logsOf(gw, 'wild-1')).toMatch(/out of bounds: 2147483648\+8/);

    const t = await get(`${gw.url}/halt`, 'halt-1', { 'x-trap': '1' });
    expect(t.status).toBe(500);
    expect(jsonError(t.body)).toMatchObject({ type: 'filter_failed', plugin: 'halter', requestId: 'halt-1' });
    expectNothingInternal(t.body);
    expect(logsOf(gw, 'halt-1')).toMatch(/unreachable/);
  });

  it('a dead upstream: 502 with the request id, no address, port or error code; the log has them', async () => {
    const r = await get(`${gw.url}/dead`, 'dead-1');
    expect(r.status).toBe(502);
    expect(jsonError(r.body)).toEqual({ type: 'upstream_failed', message: 'the upstream could not be reached', requestId: 'dead-1' });
    expectNothingInternal(r.body, String(dead.port), 'ECONNREFUSED', 'connect');
    const logged = logsOf(gw, 'dead-1');
    expect(logged).toContain('ECONNREFUSED');
    expect(logged).toContain(String(dead.port));
  });

  it('no route: 404 with a fixed message that does not echo the client path', async () => {
    const r = await get(`${gw.url}/nowhere/%3Cscript%3E`, 'lost-1');
    expect(r.status).toBe(404);
    expect(jsonError(r.body)).toEqual({ type: 'no_route', message: 'no route matches the request', requestId: 'lost-1' });
    expect(r.body).not.toMatch(/nowhere|script/i);
  });

  it('a loop: 508 with a fixed message; the depths are in the access log', async () => {
    const r = await get(`${gw.url}/wild`, 'deep-1', { 'x-praxis-depth': '99' });
    expect(r.status).toBe(508);
    expect(jsonError(r.body)).toEqual({ type: 'loop_detected', message: 'the request exceeded the maximum call depth', requestId: 'deep-1' });
    expect(r.body).not.toContain('99');
    expect(gw.logs.find((l) => l.log === 'access' && l.id === 'deep-1')).toMatchObject({ status: 508, depth: 99, maxDepth: 4 });
  });
});
