/** Traps, memory ceilings, pool exhaustion, and sub-requests through JSPI, end to end. */
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEchoUpstream, startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { jsonError, oneRoute, sleep, testkit, until } from './helpers.ts';

let echo: TestServer;
let gw: TestGateway | undefined;

beforeAll(async () => { echo = await startEchoUpstream(); });
afterAll(() => echo.close());
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  echo.seen.length = 0;
});

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  const r = await request(url, { headers });
  return { status: r.statusCode, text: await r.body.text(), headers: r.headers };
}

describe('traps', () => {
  it('fail closed: 500 naming plugin and hook; the instance is destroyed and the next request succeeds', async () => {
    gw = await startTestGateway(oneRoute({ t: testkit({ trapIfHeader: 'x-trap' }) }, ['t'], { main: echo.url }));
    const bad = await get(`${gw.url}/a`, { 'x-trap': '1' });
    expect(bad.status).toBe(500);
    const err = jsonError(bad.text);
    expect(err).toMatchObject({ type: 'filter_failed', plugin: 't', hook: 'on-request-headers' });
    expect(echo.seen).toHaveLength(0);
    const g = gw;
    await until(() => g.poolStats()[0]!.destroyed >= 1, 'the trapped instance to be destroyed');
    const ok = await get(`${gw.url}/b`);
    expect(ok.status).toBe(200);
    expect(echo.seen.map((s) => s.url)).toEqual(['/b']);
  });

  it('fail open: the trapping filter is skipped and the trap is logged with plugin and hook', async () => {
    gw = await startTestGateway(oneRoute({
      t: testkit({ trapIfHeader: 'x-trap' }, { failure: 'open' }),
      after: testkit({ setRequestHeader: ['x-after', 'ran'] }),
    }, ['t', 'after'], { main: echo.url }));
    const r = await get(`${gw.url}/open`, { 'x-trap': '1' });
    expect(r.status).toBe(200);
    expect(echo.seen[0]!.headers['x-after']).toBe('ran');
    const line = gw.logs.find((l) => l.msg.startsWith('filter failed'));
    expect(line).toMatchObject({ plugin: 't', hook: 'on-request-headers', failure: 'open' });
  });
});

describe('memory ceiling', () => {
  it('a guest that allocates past memoryLimitMb traps; the gateway keeps serving and RSS stays flat', async () => {
    // Seven failures in a row on purpose: past the default ejection threshold, so raised here.
    gw = await startTestGateway(oneRoute({ m: testkit({ allocIfHeader: 'x-alloc' }, { memoryLimitMb: 2, ejection: { failures: 100 } }) }, ['m'], { main: echo.url }));
    // Warm up (one successful call, one trap) before measuring.
    expect((await get(`${gw.url}/warm`)).status).toBe(200);
    expect((await get(`${gw.url}/warm`, { 'x-alloc': '64' })).status).toBe(500);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 5; i++) {
      const r = await get(`${gw.url}/alloc`, { 'x-alloc': '64' });
      expect(r.status).toBe(500);
      expect(jsonError(r.text)).toMatchObject({ type: 'filter_failed', plugin: 'm', hook: 'on-request-headers' });
      expect((await get(`${gw.url}/ok`)).status).toBe(200);
    }
    // 8 MiB fits the default 64 MiB ceiling but not this plugin's 2 MiB one.
    expect((await get(`${gw.url}/alloc8`, { 'x-alloc': '8' })).status).toBe(500);
    const grownMiB = (process.memoryUsage().rss - before) / (1024 * 1024);
    // Five 64 MiB allocations that succeeded would add ~320 MiB.
    expect(grownMiB).toBeLessThan(48);
  });
});

describe('pool exhaustion', () => {
  let slow: TestServer;
  beforeAll(async () => {
    slow = await startServer(async (_req, res) => {
      await sleep(1000);
      res.end('slow answer');
    });
  });
  afterAll(() => slow.close());

  it('a second request that cannot get an instance within acquireTimeoutMs gets 503 naming the plugin', async () => {
    gw = await startTestGateway(oneRoute({
      busy: testkit({ subrequestUrlHeader: 'x-sub' }, { pool: { min: 1, max: 1, acquireTimeoutMs: 100 }, allowedHosts: ['127.0.0.1:*'] }),
    }, ['busy'], { main: echo.url }));
    const first = get(`${gw.url}/first`, { 'x-sub': `${slow.url}/wait` });
    const g = gw;
    await until(() => slow.seen.length > 0 || g.subrequestsInFlight() > 0, 'the slow sub-request to start');
    const started = Date.now();
    const second = await get(`${gw.url}/second`);
    expect(second.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(900);
    expect(jsonError(second.text)).toMatchObject({ type: 'pool_exhausted', plugin: 'busy' });
    expect((await first).status).toBe(200);
    expect(echo.seen.map((s) => s.url)).toEqual(['/first']);
    expect(echo.seen[0]!.headers['x-sub-status']).toBe('200');
  });
});

describe('sub-request through JSPI', () => {
  it('the filter suspends on a GET; the upstream sees its result and the callee sees the client request id', async () => {
    const callee = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('from the callee');
    });
    try {
      gw = await startTestGateway(oneRoute({
        s: testkit({ subrequestUrlHeader: 'x-sub' }, { allowedHosts: ['127.0.0.1:*'] }),
      }, ['s'], { main: echo.url }));
      const r = await get(`${gw.url}/with-sub`, { 'x-sub': `${callee.url}/info`, 'x-request-id': 'client-rid-7' });
      expect(r.status).toBe(200);
      const up = echo.seen[0]!.headers;
      expect(up['x-sub-status']).toBe('200');
      expect(up['x-sub-body']).toBe('from the callee');
      expect(up['x-request-id']).toBe('client-rid-7');
      expect(callee.seen).toHaveLength(1);
      expect(callee.seen[0]!.url).toBe('/info');
      expect(callee.seen[0]!.headers['x-request-id']).toBe('client-rid-7');
    } finally {
      await callee.close();
    }
  });
});
