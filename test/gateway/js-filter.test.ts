/**
 * A JavaScript filter (test/fixtures/js-filter/filter.js, componentized with componentize-js)
 * through a real gateway: it imports WASI, so it runs on the jco binding with the restricted
 * WASI of runtime/component/wasi.ts.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, startEchoUpstream, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { oneRoute } from './helpers.ts';

let upstream: TestServer;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  // The jco path runs with fuel too. The StarlingMonkey engine burns about 0.6 billion fuel in
  // one of these hooks (about 0.15 billion in configure): a fixed budget above that, independent
  // of the machine's calibration.
  const jsf = { path: fixturePath('js-filter'), config: { name: 'js-filter' }, maxLoopIterations: 2_000_000_000 };
  gw = await startTestGateway(oneRoute({ jsf }, ['jsf'], { echo: upstream.url }));
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

describe('a JavaScript filter (componentize-js, restricted WASI)', () => {
  it('sets headers from the clock and random, logs console output under the plugin, sees no env or files', async () => {
    const before = Date.now();
    const res = await request(`${gw.url}/hello`, { headers: { 'x-secret': 'no' } });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const seen = upstream.seen.at(-1)!;
    const time = Number(seen.headers['x-js-time']);
    expect(time).toBeGreaterThanOrEqual(before - 1000);
    expect(time).toBeLessThanOrEqual(Date.now() + 1000);
    const rnd = Number(seen.headers['x-js-random']);
    expect(rnd).toBeGreaterThanOrEqual(0);
    expect(rnd).toBeLessThan(1);
    expect(String(seen.headers['x-js-bytes'])).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(seen.headers['x-js-sandbox']).toBe('nothing');
    expect(seen.headers['x-js-perf']).toBe('true');

    const stdout = gw.logs.find((l) => l.msg === 'js-filter saw GET /hello call=1' || /^js-filter saw GET \/hello call=\d+$/.test(l.msg));
    expect(stdout, JSON.stringify(gw.logs.slice(-10))).toBeDefined();
    expect(stdout!.plugin).toBeDefined();
    expect(String(stdout!.plugin)).toMatch(/js-filter|jsf/);
    expect(stdout!.level).toBe(30); // info
    const stderr = gw.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('js-filter stderr '));
    expect(stderr?.level).toBe(40); // warn
    expect(gw.logs.some((l) => l.msg === 'via praxis log /hello')).toBe(true);
  });

  it('random differs between requests; a second request still works on a pooled instance', async () => {
    const values = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const res = await request(`${gw.url}/again/${i}`);
      expect(res.statusCode).toBe(200);
      await res.body.text();
      values.add(String(upstream.seen.at(-1)!.headers['x-js-random']));
    }
    expect(values.size).toBe(3);
  });
});
