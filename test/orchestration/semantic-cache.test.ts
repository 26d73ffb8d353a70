/**
 * The semantic-cache plugin end to end: a real cache service on loopback (examples/cache.ts),
 * the built component in a running gateway, an upstream that counts its calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCache, type CacheServer } from '../../examples/cache.ts';
import { pluginPath, startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { call, freePort, header, waitFor } from './support.ts';

let upstream: TestServer;
let cache: CacheServer;
let gw: TestGateway;
let answers = 0;

/** The plugin's key: FNV-1a 32-bit of model + "\n" + prompt, each normalised (README). */
function cacheKey(model: string, prompt: string): string {
  const norm = (s: string) => s.toLowerCase().split(/[ \t\r\n]+/).filter(Boolean).join(' ');
  let h = 0x811c9dc5;
  for (const b of Buffer.from(`${norm(model)}\n${norm(prompt)}`, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

function chat(model: string, prompt: string): string {
  return JSON.stringify({ model, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: prompt }] });
}

const post = (path: string, body: string) =>
  call(`${gw.url}${path}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

beforeAll(async () => {
  upstream = await startServer((_req, res, body) => {
    answers++;
    const prompt = (JSON.parse(body) as { messages: Array<{ content: string }> }).messages.at(-1)!.content;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: `answer-${answers}`, choices: [{ message: { role: 'assistant', content: `You asked: ${prompt}` } }] }));
  });
  cache = await startCache();
  const down = await freePort();
  gw = await startTestGateway({
    plugins: {
      cache: { path: pluginPath('semantic-cache'), config: { cacheUrl: cache.url, timeoutMs: 300 }, allowedHosts: [`127.0.0.1:${cache.port}`] },
      'cache-down': { path: pluginPath('semantic-cache'), config: { cacheUrl: `http://127.0.0.1:${down}/`, timeoutMs: 300 }, allowedHosts: [`127.0.0.1:${down}`] },
    },
    upstreams: { llm: { endpoints: [upstream.url] } },
    routes: [
      { name: 'cached', match: { pathPrefix: '/cached/' }, upstream: 'llm', filters: ['cache'] },
      { name: 'down', match: { pathPrefix: '/down/' }, upstream: 'llm', filters: ['cache-down'] },
    ],
  });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([upstream?.close(), cache?.close()]);
});

describe('semantic-cache with a working cache service', () => {
  const body = chat('demo-model', 'What is the capital of France?');
  const key = cacheKey('demo-model', 'What is the capital of France?');
  let first = '';

  it('a first request misses, reaches the upstream, and its answer is stored with PUT', async () => {
    const r = await post('/cached', body);
    expect(r.status).toBe(200);
    expect(header(r, 'x-praxis-cache')).toBe('miss');
    expect(upstream.seen).toHaveLength(1);
    expect(upstream.seen[0]!.body).toBe(body);
    first = r.text;
    expect(JSON.parse(first)).toMatchObject({ id: 'answer-1' });
    expect(cache.requests.map((q) => `${q.method} ${q.key}`)).toEqual([`GET ${key}`, `PUT ${key}`]);
    expect(cache.requests[1]!.body).toBe(first);
    expect(cache.store.get(key)?.toString('utf8')).toBe(first);
  });

  it('the identical request is answered from the cache; the upstream is not called', async () => {
    const r = await post('/cached', body);
    expect(r.status).toBe(200);
    expect(header(r, 'x-praxis-cache')).toBe('hit');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.text).toBe(first);
    expect(upstream.seen).toHaveLength(1);
    expect(cache.requests.map((q) => q.method)).toEqual(['GET', 'PUT', 'GET']);
  });

  it('the key ignores case and whitespace runs of the model and prompt', async () => {
    const r = await post('/cached', chat('  DEMO-model', 'what   is the CAPITAL\nof france?  '));
    expect(header(r, 'x-praxis-cache')).toBe('hit');
    expect(r.text).toBe(first);
    expect(upstream.seen).toHaveLength(1);
  });

  it('a different prompt misses again', async () => {
    const r = await post('/cached', chat('demo-model', 'And of Spain?'));
    expect(header(r, 'x-praxis-cache')).toBe('miss');
    expect(JSON.parse(r.text)).toMatchObject({ id: 'answer-2' });
    expect(upstream.seen).toHaveLength(2);
    expect(cache.store.get(cacheKey('demo-model', 'And of Spain?'))?.toString('utf8')).toBe(r.text);
  });
});

describe('semantic-cache when the cache service is down', () => {
  it('requests still succeed through the upstream, each time, with a warning', async () => {
    const body = chat('demo-model', 'Is the cache up?');
    const before = upstream.seen.length;
    for (let i = 0; i < 2; i++) {
      const r = await post('/down', body);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text).choices[0].message.content).toBe('You asked: Is the cache up?');
      expect(header(r, 'x-praxis-cache')).toBeUndefined();
    }
    expect(upstream.seen.length).toBe(before + 2);
    await waitFor('warn line', () => gw.logs.find((l) => l.level === 40 && l['plugin'] === 'cache-down' && /^semantic-cache: lookup failed \(connect/.test(l.msg)));
  });
});
