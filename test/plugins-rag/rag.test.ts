/**
 * The rag plugin end to end: a real retriever on loopback, the built component in a running
 * gateway, an echo upstream that shows the body the model would have received.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PluginConfig, RouteConfig } from '../../runtime/config/types.ts';
import { pluginPath, startEchoUpstream, startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { call, freePort } from '../orchestration/support.ts';
import { exampleConfig } from '../plugins-rate-limit/helpers.ts';

let upstream: TestServer;
let retriever: TestServer;
let slow: TestServer;
let broken: TestServer;
let gw: TestGateway;

const DOCS = [
  { id: 'a', text: 'Praxis pools filter instances per plugin.' },
  'Sub-requests are bounded by a timeout.',
  { id: 'c', content: 'The third document.' },
];

function chat(prompt: string): string {
  return JSON.stringify({
    model: 'demo-model',
    messages: [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'an earlier question' },
      { role: 'assistant', content: 'an earlier answer' },
      { role: 'user', content: prompt },
    ],
    temperature: 0.2,
  });
}

/** The request body the upstream received, parsed. */
async function forwarded(route: string, body: string): Promise<{ status: number; body: string }> {
  const r = await call(`${gw.url}/${route}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(r.status).toBe(200);
  return { status: r.status, body: (JSON.parse(r.text) as { body: string }).body };
}

beforeAll(async () => {
  upstream = await startEchoUpstream();
  retriever = await startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ documents: DOCS }));
  });
  slow = await startServer(async (_req, res) => {
    await new Promise((r) => setTimeout(r, 2000));
    if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ documents: DOCS }));
  });
  broken = await startServer((_req, res) => { res.writeHead(500).end('oops'); });
  const down = await freePort();
  const rag = (port: number, extra: Record<string, unknown> = {}): PluginConfig => ({
    path: pluginPath('rag'),
    config: { retrieverUrl: `http://127.0.0.1:${port}/retrieve`, timeoutMs: 300, ...extra },
    allowedHosts: [`127.0.0.1:${port}`],
  });
  const plugins: Record<string, PluginConfig> = {
    ok: rag(retriever.port),
    top1: rag(retriever.port, { topK: 1, maxContextChars: 10, systemPrefix: 'CTX:' }),
    down: rag(down),
    slow: rag(slow.port),
    broken: rag(broken.port),
  };
  const routes: RouteConfig[] = Object.keys(plugins).map((name) => ({ name, match: { pathPrefix: `/${name}/` }, upstream: 'echo', filters: [name] }));
  gw = await startTestGateway({ plugins, upstreams: { echo: { endpoints: [upstream.url] } }, routes });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([upstream?.close(), retriever?.close(), slow?.close(), broken?.close()]);
});

describe('rag with a working retriever', () => {
  it('asks for the last user message and injects the documents as the first, system message', async () => {
    const { body } = await forwarded('ok', chat('How are instances pooled?'));
    expect(JSON.parse(retriever.seen.at(-1)!.body)).toEqual({ query: 'How are instances pooled?', topK: 3 });
    expect(retriever.seen.at(-1)!.headers['content-type']).toBe('application/json');
    const sent = JSON.parse(body) as { model: string; temperature: number; messages: Array<{ role: string; content: string }> };
    expect(sent.messages).toHaveLength(5);
    expect(sent.messages[0]).toEqual({
      role: 'system',
      content: 'Answer using the following context.\n\nPraxis pools filter instances per plugin.\n\nSub-requests are bounded by a timeout.\n\nThe third document.',
    });
    // Everything else is the client's, unchanged.
    expect(sent.messages.slice(1)).toEqual((JSON.parse(chat('How are instances pooled?')) as { messages: unknown[] }).messages);
    expect(sent.model).toBe('demo-model');
    expect(sent.temperature).toBe(0.2);
  });

  it('honours topK, maxContextChars and systemPrefix', async () => {
    const { body } = await forwarded('top1', chat('q'));
    expect(JSON.parse(retriever.seen.at(-1)!.body)).toEqual({ query: 'q', topK: 1 });
    const sent = JSON.parse(body) as { messages: Array<{ role: string; content: string }> };
    expect(sent.messages[0]).toEqual({ role: 'system', content: 'CTX:Praxis poo' });
  });

  it('leaves a body that is not a chat request alone and asks nothing', async () => {
    const before = retriever.seen.length;
    const { body } = await forwarded('ok', '{"input":"embed me"}');
    expect(body).toBe('{"input":"embed me"}');
    expect(retriever.seen.length).toBe(before);
  });
});

describe('rag fails open', () => {
  for (const [route, why] of [['down', 'connect'], ['slow', 'timeout'], ['broken', 'status 500']] as const) {
    it(`sends the request on unchanged when the retriever fails (${why}), with a warning`, async () => {
      const original = chat(`question for ${route}`);
      const { body } = await forwarded(route, original);
      expect(body).toBe(original);
      expect(gw.logs.some((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.startsWith(`rag: retrieval failed (${why}`))).toBe(true);
    });
  }
});

describe('examples/rag.yaml', () => {
  it('starts as shipped (the plugin accepts its config)', async () => {
    const example = await startTestGateway(await exampleConfig('rag', upstream.url));
    await example.close();
  });
});
