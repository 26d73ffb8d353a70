/**
 * The rate-limit plugin in a running gateway over the memory store: the three algorithms, the
 * three key sources, and the IETF httpapi draft's headers on 429 and on allowed responses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.ts';
import { startEchoUpstream, startTestGateway, type TestServer } from '../helpers/servers.ts';
import { exampleConfig, limitedGateway, send, statuses } from './helpers.ts';

const track = useCleanup();
let upstream: TestServer;

beforeAll(async () => { upstream = await startEchoUpstream(); });
afterAll(async () => { await upstream?.close(); });

const start = async (config: Record<string, unknown>) => track(await startTestGateway(limitedGateway('rate-limit', config, upstream.url)));

describe('rate-limit: algorithms (memory store)', () => {
  for (const algorithm of ['fixed', 'sliding', 'token-bucket']) {
    it(`${algorithm}: the limit per key, then 429 with Retry-After, RateLimit-Policy and RateLimit`, async () => {
      const gw = await start({ limit: 3, windowSeconds: 3600, algorithm, keyFrom: 'header', keyName: 'x-api-key', policyName: 'per-key' });
      const url = `http://127.0.0.1:${gw.port}/v1/x`;
      const first = await send(url, { 'x-api-key': 'alice' });
      expect(first.status).toBe(200);
      expect(first.headers['ratelimit-policy']).toBe('"per-key";q=3;w=3600');
      expect(first.headers['ratelimit']).toMatch(/^"per-key";r=2;t=\d+$/);
      expect(await statuses(url, 2, { 'x-api-key': 'alice' })).toEqual([200, 200]);
      const before = upstream.seen.length;
      const over = await send(url, { 'x-api-key': 'alice' });
      expect(over.status).toBe(429);
      expect(upstream.seen.length).toBe(before);
      const retry = Number(over.headers['retry-after']);
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(algorithm === 'token-bucket' ? 1200 : 7200);
      expect(over.headers['ratelimit-policy']).toBe('"per-key";q=3;w=3600');
      expect(over.headers['ratelimit']).toBe(`"per-key";r=0;t=${retry}`);
      expect(JSON.parse(over.text)).toEqual({ error: { type: 'rate_limited', reason: 'too many requests', retryAfter: retry } });
      // Another key has its own limit.
      expect((await send(url, { 'x-api-key': 'bob' })).status).toBe(200);
    });
  }

  it('token-bucket refills at limit per window', async () => {
    const gw = await start({ limit: 2, windowSeconds: 1, algorithm: 'token-bucket', keyFrom: 'header', keyName: 'x-api-key' });
    const url = `http://127.0.0.1:${gw.port}/`;
    expect(await statuses(url, 3, { 'x-api-key': 'k' })).toEqual([200, 200, 429]);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await statuses(url, 3, { 'x-api-key': 'k' })).toEqual([200, 200, 429]);
  });

  it('sliding: a denied request is not counted (knocking on does not push Retry-After out)', async () => {
    const gw = await start({ limit: 2, windowSeconds: 3600, algorithm: 'sliding', keyFrom: 'header', keyName: 'x-api-key' });
    const url = `http://127.0.0.1:${gw.port}/`;
    expect(await statuses(url, 2, { 'x-api-key': 'k' })).toEqual([200, 200]);
    const first = await send(url, { 'x-api-key': 'k' });
    expect(first.status).toBe(429);
    for (let i = 0; i < 10; i++) expect((await send(url, { 'x-api-key': 'k' })).status).toBe(429);
    const last = await send(url, { 'x-api-key': 'k' });
    // Counted denials would raise this window's count to 13 and the wait by about 0.4 windows.
    expect(Number(last.headers['retry-after'])).toBeLessThanOrEqual(Number(first.headers['retry-after']) + 2);
  });
});

describe('rate-limit: keys', () => {
  it('client: the address the gateway saw, whatever x-forwarded-for the client sends', async () => {
    const gw = await start({ limit: 2, windowSeconds: 3600, algorithm: 'fixed' });
    const url = `http://127.0.0.1:${gw.port}/`;
    const spoofed = await Promise.all(['1.1.1.1', '2.2.2.2', '3.3.3.3'].map(async (ip) => (await send(url, { 'x-forwarded-for': ip })).status));
    expect(spoofed.sort()).toEqual([200, 200, 429]);
  });

  it('body: a top-level JSON field; requests without it share one limit, or pass with missingKey allow', async () => {
    const gw = await start({ limit: 1, windowSeconds: 3600, algorithm: 'fixed', keyFrom: 'body', keyName: 'user' });
    const url = `http://127.0.0.1:${gw.port}/`;
    const post = async (body: string) => (await send(url, { 'content-type': 'application/json' }, body)).status;
    expect([await post('{"user":"u1"}'), await post('{"user":"u1"}'), await post('{"user":"u2"}')]).toEqual([200, 429, 200]);
    expect([await post('{"x":1}'), await post('not json')]).toEqual([200, 429]);
    const open = await start({ limit: 1, windowSeconds: 3600, keyFrom: 'body', keyName: 'user', missingKey: 'allow' });
    const openUrl = `http://127.0.0.1:${open.port}/`;
    const statusesOpen = [];
    for (let i = 0; i < 3; i++) statusesOpen.push((await send(openUrl, { 'content-type': 'application/json' }, '{"x":1}')).status);
    expect(statusesOpen).toEqual([200, 200, 200]);
  });

  it('a key past the store\'s key bound is hashed, not refused', async () => {
    const gw = await start({ limit: 1, windowSeconds: 3600, algorithm: 'fixed', keyFrom: 'header', keyName: 'x-api-key', failureMode: 'closed' });
    const url = `http://127.0.0.1:${gw.port}/`;
    expect(await statuses(url, 2, { 'x-api-key': 'k'.repeat(2000) })).toEqual([200, 429]);
  });
});

describe('examples/rate-limit.yaml', () => {
  it('runs as shipped: 5 requests a minute per x-api-key', async () => {
    const gw = track(await startTestGateway(await exampleConfig('rate-limit', upstream.url)));
    const url = `http://127.0.0.1:${gw.port}/`;
    expect(await statuses(url, 6, { 'x-api-key': 'alice' })).toEqual([200, 200, 200, 200, 200, 429]);
    expect((await send(url, { 'x-api-key': 'bob' })).headers['ratelimit-policy']).toBe('"per-key";q=5;w=60');
  });
});
