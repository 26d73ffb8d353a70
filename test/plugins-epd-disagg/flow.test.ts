/**
 * epd-disagg end to end: a real gateway, loopback encode and prefill pools, decode upstreams that
 * echo what they got. Checkpoints in order; a slow or failing stage endpoint re-picked; a decode
 * failure resumed after the last checkpoint (the fakes count calls: one encode, one prefill).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../runtime/config/load.ts';
import type { GatewayConfig, PluginConfig } from '../../runtime/config/types.ts';
import { type LogLine, pluginPath, ROOT, startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';

type Mode = 'ok' | '500' | 'hang';
interface StageServer { server: TestServer; mode: Mode; calls: number }
interface Echoed { path: string; headers: Record<string, string | undefined>; body: string }

const STAGE_TIMEOUT_MS = 300;
const ALL = 'ENCODE_COMPLETE,PREFILL_COMPLETE,TRANSFER_COMPLETE,DECODE_FORWARDED';

/** FNV-1a, as the plugin picks a stage's first endpoint: hash(request id) % endpoints. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}
/** A request id whose first pick among two endpoints is `index`. */
function idStartingAt(index: number, prefix: string): string {
  for (let i = 0; ; i++) if (fnv1a(`${prefix}-${i}`) % 2 === index) return `${prefix}-${i}`;
}

/** An encoder or prefill fake: answers 1-token calls with its stage's transfer params. */
async function startStage(name: string, params: 'ec_transfer_params' | 'kv_transfer_params'): Promise<StageServer> {
  const s: StageServer = { server: undefined as unknown as TestServer, mode: 'ok', calls: 0 };
  s.server = await startServer((req: IncomingMessage, res: ServerResponse) => {
    s.calls++;
    if (s.mode === 'hang') return; // never answers; close() drops the connection
    if (s.mode === '500') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'x', choices: [{ text: 'x' }], [params]: { engine: name, blocks: [1, 2] } }));
  });
  return s;
}

function startDecode(name: string, script: () => number | undefined): Promise<TestServer> {
  return startServer((req, res, body) => {
    const status = script() ?? 200;
    if (status !== 200) {
      res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":"decode busy"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-decode': name });
    res.end(JSON.stringify({ path: req.url, headers: req.headers, body }));
  });
}

let e1: StageServer, e2: StageServer, p1: StageServer, p2: StageServer;
let decodeA: TestServer, decodeB: TestServer, other: TestServer;
let scriptA: number[] = [];
let gw: TestGateway | undefined;

beforeAll(async () => {
  [e1, e2] = await Promise.all([startStage('e1', 'ec_transfer_params'), startStage('e2', 'ec_transfer_params')]);
  [p1, p2] = await Promise.all([startStage('p1', 'kv_transfer_params'), startStage('p2', 'kv_transfer_params')]);
  decodeA = await startDecode('a', () => scriptA.shift());
  decodeB = await startDecode('b', () => undefined);
  other = await startDecode('other', () => undefined);
});
afterAll(async () => {
  await Promise.all([e1, e2, p1, p2].map((s) => s.server.close()).concat([decodeA.close(), decodeB.close(), other.close()]));
});
beforeEach(() => {
  for (const s of [e1, e2, p1, p2]) { s.mode = 'ok'; s.calls = 0; s.server.seen.length = 0; }
  for (const d of [decodeA, decodeB, other]) d.seen.length = 0;
  scriptA = [];
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const plugin = (): PluginConfig => ({
  path: pluginPath('epd-disagg'),
  config: { encode: [e1.server.url, e2.server.url], prefill: [p1.server.url, p2.server.url], decodeUpstream: 'decode', encodeTimeoutMs: STAGE_TIMEOUT_MS, prefillTimeoutMs: STAGE_TIMEOUT_MS },
  allowedHosts: ['127.0.0.1:*'],
});

/** epd as a route filter: the stages run once, then the request goes on to `decode`. */
function routeFilterConfig(): GatewayConfig {
  return {
    plugins: { epd: plugin() },
    upstreams: { other: { endpoints: [other.url] }, decode: { endpoints: [decodeA.url] } },
    routes: [{ name: 'llm', upstream: 'other', filters: ['epd'], retries: 1, timeoutMs: 5000 }],
  };
}

/** epd as the upstream filter of two decode backends (priority 0 then 1): it runs on every attempt. */
function upstreamFilterConfig(): GatewayConfig {
  const { decodeUpstream: _, ...cfg } = plugin().config as Record<string, unknown>;
  return {
    plugins: { epd: { ...plugin(), config: cfg } },
    upstreams: {
      decode: {
        backends: [
          { name: 'primary', priority: 0, endpoints: [decodeA.url], upstreamFilters: ['epd'] },
          { name: 'secondary', priority: 1, endpoints: [decodeB.url], upstreamFilters: ['epd'] },
        ],
      },
    },
    routes: [{ name: 'llm', upstream: 'decode', retries: 1, timeoutMs: 5000 }],
  };
}

async function post(body: unknown, id: string): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  const r = await request(`${gw!.url}/v1/chat/completions`, {
    method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'x-request-id': id },
  });
  return { status: r.statusCode, text: await r.body.text(), headers: r.headers };
}

function accessLine(logs: LogLine[], id: string): LogLine & { subrequests: Array<{ url: string; outcome: string }>; attempt: number } {
  const line = logs.find((l) => l.msg === 'access' && l.id === id);
  if (!line) throw new Error(`no access line for ${id}`);
  return line as LogLine & { subrequests: Array<{ url: string; outcome: string }>; attempt: number };
}

const IMAGE_CHAT = {
  model: 'llava', max_tokens: 128,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }],
};
const TEXT_CHAT = { model: 'llava', max_tokens: 128, messages: [{ role: 'user', content: 'Hello' }] };

describe('epd-disagg', () => {
  it('multimodal: encode, then prefill with the encoder params, then decode; checkpoints in order', async () => {
    gw = await startTestGateway(routeFilterConfig());
    const id = idStartingAt(0, 'mm');
    const r = await post(IMAGE_CHAT, id);
    expect(r.status).toBe(200);
    expect(r.headers['x-decode']).toBe('a');
    expect([e1.calls, e2.calls, p1.calls, p2.calls]).toEqual([1, 0, 1, 0]);

    const enc = e1.server.seen[0]!;
    expect(enc.url).toBe('/v1/chat/completions');
    expect(enc.headers['x-epd-stage']).toBe('encode');
    expect(JSON.parse(enc.body)).toEqual({ ...IMAGE_CHAT, max_tokens: 1 });
    const pre = p1.server.seen[0]!;
    expect(pre.headers['x-epd-stage']).toBe('prefill');
    expect(JSON.parse(pre.body)).toEqual({ ...IMAGE_CHAT, max_tokens: 1, ec_transfer_params: { engine: 'e1', blocks: [1, 2] } });

    const echoed = JSON.parse(r.text) as Echoed;
    expect(JSON.parse(echoed.body)).toEqual(IMAGE_CHAT); // the decode gets the client's request
    expect(echoed.headers['x-epd-checkpoints']).toBe(ALL);
    expect(JSON.parse(echoed.headers['x-kv-transfer-params']!)).toEqual({ engine: 'p1', blocks: [1, 2] });
    expect(echoed.headers['x-prefill-endpoint']).toBe(p1.server.url);
    expect(echoed.headers['x-encode-endpoint']).toBe(e1.server.url);
    expect(accessLine(gw.logs, id).subrequests.map((s) => s.url)).toEqual([`${e1.server.url}/v1/chat/completions`, `${p1.server.url}/v1/chat/completions`]);
  });

  it('text only: no encode stage', async () => {
    gw = await startTestGateway(routeFilterConfig());
    const r = await post(TEXT_CHAT, idStartingAt(1, 'text'));
    expect(r.status).toBe(200);
    expect(e1.calls + e2.calls).toBe(0);
    expect(p2.calls).toBe(1);
    const echoed = JSON.parse(r.text) as Echoed;
    expect(echoed.headers['x-epd-checkpoints']).toBe('PREFILL_COMPLETE,TRANSFER_COMPLETE,DECODE_FORWARDED');
    expect(echoed.headers['x-encode-endpoint']).toBeUndefined();
  });

  it('a slow encoder and a failing prefill endpoint are each re-picked within the deadline', async () => {
    gw = await startTestGateway(routeFilterConfig());
    e1.mode = 'hang';
    p1.mode = '500';
    const id = idStartingAt(0, 'repick');
    const r = await post(IMAGE_CHAT, id);
    expect(r.status).toBe(200);
    expect([e1.calls, e2.calls, p1.calls, p2.calls]).toEqual([1, 1, 1, 1]);
    const echoed = JSON.parse(r.text) as Echoed;
    expect(echoed.headers['x-encode-endpoint']).toBe(e2.server.url);
    expect(echoed.headers['x-prefill-endpoint']).toBe(p2.server.url);
    expect(JSON.parse(p2.server.seen[0]!.body)).toMatchObject({ ec_transfer_params: { engine: 'e2' } });
    expect(echoed.headers['x-epd-checkpoints']).toBe(ALL);
    expect(accessLine(gw.logs, id).subrequests.map((s) => s.outcome)).toEqual(['timeout', 'ok', 'ok', 'ok']);
  });

  it('slow stage calls are cut at the route deadline, not at their own longer timeout', async () => {
    const config = routeFilterConfig();
    const epd = config.plugins!.epd!;
    epd.config = { ...(epd.config as Record<string, unknown>), prefillTimeoutMs: 3000 };
    config.routes[0]!.timeoutMs = 500;
    gw = await startTestGateway(config);
    p1.mode = 'hang';
    p2.mode = 'hang';
    const started = performance.now();
    const r = await post(TEXT_CHAT, 'deadline');
    expect([503, 504]).toContain(r.status);
    expect(performance.now() - started).toBeLessThan(2500); // one unclamped call alone would take 3000
    expect(decodeA.seen).toHaveLength(0);
  });

  it('every prefill endpoint failing: 503 prefill_unavailable, no decode', async () => {
    gw = await startTestGateway(routeFilterConfig());
    p1.mode = '500';
    p2.mode = '500';
    const r = await post(TEXT_CHAT, 'all-down');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text)).toEqual({ error: { type: 'prefill_unavailable' } });
    expect(p1.calls + p2.calls).toBe(2);
    expect(decodeA.seen).toHaveLength(0);
  });

  it('a decode failure fails over and resumes after TRANSFER_COMPLETE: one encode, one prefill', async () => {
    gw = await startTestGateway(upstreamFilterConfig());
    scriptA = [503];
    const id = idStartingAt(1, 'resume');
    const r = await post(IMAGE_CHAT, id);
    expect(r.status).toBe(200);
    expect(r.headers['x-decode']).toBe('b');
    expect(decodeA.seen).toHaveLength(1);
    expect(decodeB.seen).toHaveLength(1);
    expect(e1.calls + e2.calls).toBe(1); // not re-encoded
    expect(p1.calls + p2.calls).toBe(1); // not re-prefilled
    const [first, second] = [decodeA.seen[0]!, decodeB.seen[0]!];
    expect(first.headers['x-epd-checkpoints']).toBe(ALL);
    expect(second.headers['x-epd-checkpoints']).toBe(`${ALL},DECODE_FORWARDED`);
    expect(second.headers['x-kv-transfer-params']).toBe(first.headers['x-kv-transfer-params']);
    expect(JSON.parse(String(second.headers['x-kv-transfer-params']))).toEqual({ engine: 'p2', blocks: [1, 2] });
    expect(second.headers['x-processor-attempt']).toBe('2');
    expect(JSON.parse(second.body)).toEqual(IMAGE_CHAT);
    expect(accessLine(gw.logs, id).attempt).toBe(2);
  });
});

describe('epd-disagg config', () => {
  it('refuses a misspelt key and an empty prefill pool, naming them', async () => {
    for (const [config, key] of [
      [{ prefill: [p1.server.url], prefilTimeoutMs: 10 }, /prefilTimeoutMs/],
      [{ prefill: [] }, /prefill/],
    ] as const) {
      const start = startTestGateway({ ...routeFilterConfig(), plugins: { epd: { ...plugin(), config } } });
      await expect(start).rejects.toThrow(key);
    }
  });
});

describe('examples/epd-disagg.yaml', () => {
  it('starts as shipped (the plugin accepts its config)', async () => {
    const { config, baseDir } = await loadConfigFile(`${ROOT}examples/epd-disagg.yaml`);
    for (const p of Object.values(config.plugins ?? {})) p.path = resolve(baseDir, p.path);
    gw = await startTestGateway(config);
  });
});
