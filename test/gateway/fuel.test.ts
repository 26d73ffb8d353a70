/** A filter stuck in a loop is stopped by its loop fuel; the gateway keeps serving meanwhile and after. */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoUpstream, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { jsonError, oneRoute, testkit } from './helpers.ts';

let echo: TestServer;
let gw: TestGateway;
beforeAll(async () => {
  echo = await startEchoUpstream();
  gw = await startTestGateway(oneRoute(
    { spin: testkit({ name: 'spin', spinIfHeader: 'x-spin' }, { maxLoopIterations: 2_000_000 }) },
    ['spin'],
    { main: echo.url },
  ));
});
afterAll(async () => {
  await gw.close();
  await echo.close();
});

describe('loop fuel', () => {
  it('stops a hook that never leaves its loop, answers 500 naming the plugin, and serves on', async () => {
    const started = Date.now();
    const res = await request(`${gw.url}/spin`, { headers: { 'x-spin': '1', 'x-request-id': 'fuel-1' } });
    expect(res.statusCode).toBe(500);
    const err = jsonError(await res.body.text());
    expect(err.plugin).toBe('spin');
    expect(err.hook).toBe('on-request-headers');
    // The reason is for the operator (the log, joined by request id), not for the client.
    expect(err.message).not.toMatch(/2000000|loop|budget/);
    expect(gw.logs.some((l) => l.requestId === 'fuel-1' && l.level >= 50 && /2000000/.test(l.msg))).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(echo.seen.some((s) => s.url === '/spin')).toBe(false);

    const next = await request(`${gw.url}/after`);
    expect(next.statusCode).toBe(200);
    await next.body.text();
    expect(gw.poolStats().find((p) => p.plugin === 'spin')!.destroyed).toBeGreaterThanOrEqual(1);
  });

  it('refuses a budget too small to be meant, naming the key', async () => {
    const { validateConfig } = await import('../../runtime/config/load.ts');
    const cfg = oneRoute({ x: testkit({}, { maxLoopIterations: 10 }) }, ['x'], { main: 'http://127.0.0.1:1' });
    expect(() => validateConfig(cfg)).toThrow(/plugins\.x\.maxLoopIterations: must be >= 1000/);
  });
});
