/**
 * The token-budget plugin in a running gateway over the memory store: usage from JSON and from
 * streamed (SSE) responses charged to the key, 429 once the window's budget is spent, and a
 * stream passed on while it is read.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.ts';
import { startTestGateway } from '../helpers/servers.ts';
import { exampleConfig, limitedGateway, send } from '../plugins-rate-limit/helpers.ts';
import { startFakeLlm, type FakeLlm } from './fake-llm.ts';

const track = useCleanup();
let llm: FakeLlm;

beforeAll(async () => { llm = await startFakeLlm(); });
afterAll(async () => { await llm?.close(); });

const start = async (config: Record<string, unknown>) => track(await startTestGateway(limitedGateway('token-budget', config, llm.url)));
const chat = (stream = false, extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'hi' }], ...extra });

/** A streamed completion read to its end; the first chunk must arrive before the upstream is released. */
async function streamed(url: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: chat(true) });
  if (res.statusCode !== 200) return { status: res.statusCode, text: await res.body.text() };
  const it = res.body[Symbol.asyncIterator]();
  const first = await it.next();
  // The upstream holds the rest until now: this chunk came through the filter on its own.
  expect(Buffer.from(first.value as Buffer).toString('utf8')).toContain('"first"');
  llm.release();
  let text = Buffer.from(first.value as Buffer).toString('utf8');
  for (let c = await it.next(); !c.done; c = await it.next()) text += Buffer.from(c.value as Buffer).toString('utf8');
  return { status: 200, text };
}

describe('token-budget (memory store)', () => {
  it('JSON responses: usage.total_tokens charged per API key; 429 with the draft headers once spent', async () => {
    const gw = await start({ budget: 100, windowSeconds: 3600 });
    const url = `http://127.0.0.1:${gw.port}/v1/chat/completions`;
    const alice = { authorization: 'Bearer sk-alice', 'content-type': 'application/json' };
    const seen: Array<string | string[] | undefined> = [];
    for (let i = 0; i < 4; i++) {
      const r = await send(url, alice, chat());
      expect(r.status).toBe(200);
      seen.push(r.headers['ratelimit']);
    }
    // 30 tokens a completion (the text mentioning "usage" inside a string is not counted).
    expect(seen.map((h) => String(h).replace(/;t=\d+$/, ''))).toEqual(['"tokens";r=100', '"tokens";r=70', '"tokens";r=40', '"tokens";r=10']);
    const before = llm.seen.length;
    const over = await send(url, alice, chat());
    expect(over.status).toBe(429);
    expect(llm.seen.length).toBe(before);
    const retry = Number(over.headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(3600);
    expect(over.headers['ratelimit-policy']).toBe('"tokens";q=100;w=3600');
    expect(over.headers['ratelimit']).toBe(`"tokens";r=0;t=${retry}`);
    expect(JSON.parse(over.text).error.type).toBe('token_budget_exhausted');
    // Another API key (here through x-api-key) has its own budget.
    expect((await send(url, { 'x-api-key': 'sk-bob', 'content-type': 'application/json' }, chat())).status).toBe(200);
  });

  it('streamed responses: passed on chunk by chunk, charged from the last event carrying usage', async () => {
    const gw = await start({ budget: 50, windowSeconds: 3600, keyFrom: 'header', keyName: 'x-tenant' });
    const url = `http://127.0.0.1:${gw.port}/v1/chat/completions`;
    const t = { 'x-tenant': 'acme' };
    const one = await streamed(url, t);
    expect(one.status).toBe(200);
    expect(one.text).toContain('data: [DONE]');
    expect((await streamed(url, t)).status).toBe(200); // 30 spent < 50
    expect((await streamed(url, t)).status).toBe(429); // 60 spent
  });

  it('count: completion charges completion_tokens only; keyFrom body charges a body field', async () => {
    const gw = await start({ budget: 40, windowSeconds: 3600, keyFrom: 'body', keyName: 'user', count: 'completion' });
    const url = `http://127.0.0.1:${gw.port}/`;
    const post = async (user: string) => (await send(url, { 'content-type': 'application/json' }, chat(false, { user }))).status;
    expect([await post('u1'), await post('u1'), await post('u1'), await post('u2')]).toEqual([200, 200, 429, 200]);
  });

  it('a client asking for gzip is still charged (the upstream is asked for an uncompressed answer)', async () => {
    const gw = await start({ budget: 50 });
    const url = `http://127.0.0.1:${gw.port}/`;
    const h = { authorization: 'Bearer gz', 'content-type': 'application/json', 'accept-encoding': 'gzip' };
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) seen.push((await send(url, h, chat())).status);
    expect(seen).toEqual([200, 200, 429]);
    expect(llm.seen.at(-1)!.headers['accept-encoding']).toBeUndefined();
  });

  it('an error response is not charged, whatever usage it reports', async () => {
    const gw = await start({ budget: 1 });
    const url = `http://127.0.0.1:${gw.port}/`;
    for (let i = 0; i < 3; i++) expect((await send(url, { authorization: 'Bearer k' }, chat(false, { fail: true }))).status).toBe(500);
    expect((await send(url, { authorization: 'Bearer k' }, chat())).status).toBe(200);
    expect((await send(url, { authorization: 'Bearer k' }, chat())).status).toBe(429);
  });
});

describe('examples/token-budget.yaml', () => {
  it('runs as shipped: 50 tokens an hour per API key', async () => {
    const gw = track(await startTestGateway(await exampleConfig('token-budget', llm.url)));
    const url = `http://127.0.0.1:${gw.port}/v1/chat/completions`;
    const h = { authorization: 'Bearer sk-alice', 'content-type': 'application/json' };
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) seen.push((await send(url, h, chat())).status);
    expect(seen).toEqual([200, 200, 429]); // 30 tokens a completion here
  });
});
