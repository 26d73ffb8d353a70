/**
 * The semantic-router plugin end to end: the toy classifier (examples/classifier.ts) on loopback,
 * the built component in a running gateway, echo upstreams that show where each request went and
 * with which `model`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClassifier, type Classifier } from '../../examples/classifier.ts';
import type { PluginConfig, RouteConfig } from '../../runtime/config/types.ts';
import { pluginPath, startEchoUpstream, startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { call, freePort } from '../orchestration/support.ts';
import { exampleConfig } from '../plugins-rate-limit/helpers.ts';

let general: TestServer;
let mathA: TestServer;
let mathB: TestServer;
let coder: TestServer;
let classifier: Classifier;
let odd: TestServer;
let gw: TestGateway;

const ROUTES = {
  math: { model: 'qwen-math', upstream: 'math', endpoint: '' }, // endpoint filled in once mathB listens
  code: { model: 'coder-7b', upstream: 'code' },
  chat: { model: 'small-chat' },
};

function chat(prompt: string, model = 'auto'): string {
  return JSON.stringify({ model, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: prompt }], stream: false });
}

const post = (route: string, body: string) =>
  call(`${gw.url}/${route}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

beforeAll(async () => {
  [general, mathA, mathB, coder] = await Promise.all([startEchoUpstream(), startEchoUpstream(), startEchoUpstream(), startEchoUpstream()]);
  classifier = await startClassifier();
  odd = await startServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"category":"poetry","confidence":0.99}'); });
  ROUTES.math.endpoint = `127.0.0.1:${mathB.port}`;
  const down = await freePort();
  const router = (port: number, extra: Record<string, unknown> = {}, path = '/classify'): PluginConfig => ({
    path: pluginPath('semantic-router'),
    config: { classifierUrl: `http://127.0.0.1:${port}${path}`, timeoutMs: 300, routes: ROUTES, models: ['auto'], ...extra },
    allowedHosts: [`127.0.0.1:${port}`],
  });
  const plugins: Record<string, PluginConfig> = {
    ok: router(classifier.port, { default: 'chat' }),
    strict: router(classifier.port, { default: 'chat', minConfidence: 0.9 }),
    any: router(classifier.port, { models: [] }),
    odd: router(odd.port, { default: 'chat' }, '/'),
    'down-open': router(down, { default: 'chat' }),
    'down-open-nodefault': router(down),
    'down-closed': router(down, { default: 'chat', failMode: 'closed' }),
  };
  const routes: RouteConfig[] = Object.keys(plugins).map((name) => ({ name, match: { pathPrefix: `/${name}/` }, upstream: 'general', filters: [name] }));
  gw = await startTestGateway({
    plugins,
    upstreams: {
      general: { endpoints: [general.url] },
      math: { endpoints: [mathA.url, mathB.url] },
      code: { endpoints: [coder.url] },
    },
    routes,
  });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([general, mathA, mathB, coder, odd].map((s) => s?.close()));
  await classifier?.close();
});

/** The one server among the upstreams that saw a request since `before` (a snapshot of their counts). */
function counts(): number[] {
  return [general, mathA, mathB, coder].map((s) => s.seen.length);
}
function wentTo(before: number[]): TestServer {
  const servers = [general, mathA, mathB, coder];
  const hit = servers.filter((s, i) => s.seen.length > before[i]!);
  expect(hit).toHaveLength(1);
  return hit[0]!;
}

describe('semantic-router with a working classifier', () => {
  it('routes a math prompt to its model, upstream and endpoint', async () => {
    for (let i = 0; i < 3; i++) {
      const before = counts();
      const r = await post('ok', chat('what is 12 * 7?'));
      expect(r.status).toBe(200);
      // Always the picked endpoint, never round-robin onto the other one.
      const seen = wentTo(before).seen.at(-1)!;
      expect(wentTo(before)).toBe(mathB);
      expect(JSON.parse(seen.body)).toEqual(JSON.parse(chat('what is 12 * 7?', 'qwen-math')));
      expect(seen.headers['x-praxis-semantic-category']).toBe('math');
      expect(seen.headers['x-gateway-destination-endpoint']).toBeUndefined();
    }
    expect(classifier.texts.at(-1)).toBe('what is 12 * 7?');
  });

  it('routes a code prompt to its upstream with its model; a chat prompt only changes the model', async () => {
    let before = counts();
    expect((await post('ok', chat('fix this python function'))).status).toBe(200);
    expect(wentTo(before)).toBe(coder);
    expect(JSON.parse(coder.seen.at(-1)!.body).model).toBe('coder-7b');
    before = counts();
    expect((await post('ok', chat('hello there'))).status).toBe(200);
    expect(wentTo(before)).toBe(general);
    expect(JSON.parse(general.seen.at(-1)!.body).model).toBe('small-chat');
    expect(general.seen.at(-1)!.headers['x-praxis-semantic-category']).toBe('chat');
  });

  it('leaves a request naming another model alone and asks nothing (models: [auto])', async () => {
    const asked = classifier.texts.length;
    const before = counts();
    const body = chat('what is 12 * 7?', 'gpt-4o');
    expect((await post('ok', body)).status).toBe(200);
    expect(wentTo(before)).toBe(general);
    expect(general.seen.at(-1)!.body).toBe(body);
    expect(classifier.texts.length).toBe(asked);
  });

  it('routes every model when models is empty', async () => {
    const before = counts();
    expect((await post('any', chat('what is 2 + 2', 'gpt-4o'))).status).toBe(200);
    expect(wentTo(before)).toBe(mathB);
    expect(JSON.parse(mathB.seen.at(-1)!.body).model).toBe('qwen-math');
  });

  it('takes the default route below minConfidence and for a category without a route', async () => {
    let before = counts();
    expect((await post('strict', chat('fix this python function'))).status).toBe(200); // code at 0.88 < 0.9
    expect(wentTo(before)).toBe(general);
    expect(JSON.parse(general.seen.at(-1)!.body).model).toBe('small-chat');
    before = counts();
    expect((await post('odd', chat('a sonnet please'))).status).toBe(200);
    expect(wentTo(before)).toBe(general);
    expect(JSON.parse(general.seen.at(-1)!.body).model).toBe('small-chat');
  });
});

describe('semantic-router when the classifier fails', () => {
  it('failMode open: the default route', async () => {
    const before = counts();
    expect((await post('down-open', chat('what is 12 * 7?'))).status).toBe(200);
    expect(wentTo(before)).toBe(general);
    expect(JSON.parse(general.seen.at(-1)!.body).model).toBe('small-chat');
    expect(gw.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('semantic-router: connect'))).toBe(true);
  });

  it('failMode open without a default: the request goes on unchanged, with a warning', async () => {
    const before = counts();
    const body = chat('what is 12 * 7?');
    expect((await post('down-open-nodefault', body)).status).toBe(200);
    expect(wentTo(before)).toBe(general);
    expect(general.seen.at(-1)!.body).toBe(body);
    expect(gw.logs.some((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.includes('no default route, the request goes on unchanged'))).toBe(true);
  });

  it('failMode closed: 503 naming only the kind of failure; no upstream is called', async () => {
    const before = counts();
    const r = await post('down-closed', chat('what is 12 * 7?'));
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text)).toEqual({ error: { type: 'semantic_router_unavailable', reason: 'classifier failed: connect' } });
    expect(counts()).toEqual(before);
  });
});

describe('semantic-router config', () => {
  it('refuses a default that names no route, and a route that sets nothing', async () => {
    const base = { classifierUrl: 'http://127.0.0.1:1/classify' };
    for (const config of [{ ...base, routes: { a: { model: 'm' } }, default: 'b' }, { ...base, routes: { a: {} } }]) {
      const start = startTestGateway({
        plugins: { r: { path: pluginPath('semantic-router'), config } },
        upstreams: { u: { endpoints: [general.url] } },
        routes: [{ name: 'r', match: { pathPrefix: '/' }, upstream: 'u', filters: ['r'] }],
      });
      await expect(start).rejects.toThrow(/routes|default/);
    }
  });
});

describe('examples/semantic-router.yaml', () => {
  it('starts as shipped (the plugin accepts its config)', async () => {
    const example = await startTestGateway(await exampleConfig('semantic-router', general.url));
    await example.close();
  });
});
