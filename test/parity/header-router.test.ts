/**
 * Parity: one suite, run unchanged against the AssemblyScript and the Rust header-router, through
 * a real gateway with two echo upstreams. Both builds must behave as plugins/header-router/README.md
 * says, byte for byte on what the upstream and the client see.
 */
import { statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { pluginPath, startEchoUpstream, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Echoed { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: string }

const BUILDS: Array<[string, string]> = [
  ['assemblyscript', pluginPath('header-router')],
  ['rust', pluginPath('header-router-rust')],
];

/** Component sizes, printed once so the report (and CI logs) can compare the two builds. */
const sizes = Object.fromEntries(BUILDS.map(([name, path]) => [name, statSync(path).size]));
console.log(`header-router component sizes (bytes): ${JSON.stringify(sizes)}`);

async function* slowly(parts: string[], gapMs = 40): AsyncGenerator<Buffer> {
  for (const p of parts) {
    yield Buffer.from(p, 'utf8');
    await sleep(gapMs);
  }
}

describe.each(BUILDS)('header-router parity: %s', (_build, path) => {
  let a: TestServer; // upstream-a
  let b: TestServer; // upstream-b, the default
  let gw: TestGateway | undefined;

  beforeAll(async () => {
    a = await startEchoUpstream();
    b = await startEchoUpstream();
  });
  afterAll(async () => { await a.close(); await b.close(); });
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    a.seen.length = 0;
    b.seen.length = 0;
  });

  const routes = { 'gpt-4': 'upstream-a', 'llama-3': 'upstream-b', 'llama-ü': 'upstream-a', 'モデル-7b': 'upstream-a' };

  function gateway(config: Record<string, unknown>): Promise<TestGateway> {
    const cfg: GatewayConfig = {
      plugins: { router: { path, config } },
      upstreams: { 'upstream-a': { endpoints: [a.url] }, 'upstream-b': { endpoints: [b.url] } },
      routes: [{ name: 'main', upstream: 'upstream-b', filters: ['router'] }],
    };
    return startTestGateway(cfg);
  }
  const withBody = (extra: Record<string, unknown> = {}) =>
    gateway({ header: 'x-model', routes, default: 'upstream-b', bodyField: 'model', ...extra });

  /** Sends a request and returns the status, the echoed upstream view (if any) and which upstream answered. */
  async function send(init: {
    method?: 'GET' | 'POST'; path?: string; headers?: Record<string, string>; body?: string | AsyncIterable<Buffer>;
  }): Promise<{ status: number; text: string; via: 'a' | 'b' | 'none'; echoed?: Echoed }> {
    const before = { a: a.seen.length, b: b.seen.length };
    const r = await request(`${gw!.url}${init.path ?? '/v1/chat/completions'}`, {
      method: init.method ?? 'POST', headers: init.headers,
      body: typeof init.body === 'string' || init.body === undefined ? init.body : Readable.from(init.body),
    });
    const text = await r.body.text();
    const via = a.seen.length > before.a ? 'a' : b.seen.length > before.b ? 'b' : 'none';
    const echoed = via === 'none' ? undefined : JSON.parse(text) as Echoed;
    return { status: r.statusCode, text, via, echoed };
  }

  it('routes by header, and the upstream sees x-praxis-route-model', async () => {
    gw = await withBody();
    const r = await send({ headers: { 'x-model': 'gpt-4', 'content-type': 'application/json' }, body: '{"model":"llama-3"}' });
    expect(r.status).toBe(200);
    expect(r.via).toBe('a'); // the header wins over the body
    expect(r.echoed!.headers['x-praxis-route-model']).toBe('gpt-4');
    expect(r.echoed!.body).toBe('{"model":"llama-3"}'); // the body reaches the upstream untouched

    const r2 = await send({ method: 'GET', headers: { 'X-Model': 'llama-3' } });
    expect(r2.via).toBe('b');
    expect(r2.echoed!.headers['x-praxis-route-model']).toBe('llama-3');
  });

  it('header name from config is matched case-insensitively', async () => {
    gw = await gateway({ header: 'X-Target-Model', routes, default: 'upstream-b' });
    const r = await send({ method: 'GET', headers: { 'x-target-model': 'gpt-4' } });
    expect(r.via).toBe('a');
    expect(r.echoed!.headers['x-praxis-route-model']).toBe('gpt-4');
  });

  it('routes by the JSON body field (stream-buffer) when the header is absent', async () => {
    gw = await withBody();
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], model: 'gpt-4', stream: false });
    const r = await send({ headers: { 'content-type': 'application/json' }, body });
    expect(r.via).toBe('a');
    expect(r.echoed!.headers['x-praxis-route-model']).toBe('gpt-4');
    expect(r.echoed!.body).toBe(body);
  });

  it('accumulates a body sent in several chunks (chunked transfer, with pauses)', async () => {
    gw = await withBody();
    const parts = ['{"messages":[{"role":"user","content":"', 'x'.repeat(3000), '"}],"mo', 'del":"gp', 't-4"', ',"n":1}'];
    const r = await send({ headers: { 'content-type': 'application/json' }, body: slowly(parts) });
    expect(r.status).toBe(200);
    expect(r.via).toBe('a');
    expect(r.echoed!.headers['transfer-encoding'] ?? r.echoed!.headers['content-length']).toBeDefined();
    expect(r.echoed!.headers['x-praxis-route-model']).toBe('gpt-4');
    expect(r.echoed!.body).toBe(parts.join(''));
  });

  it('an unknown model goes to the default, still naming the model', async () => {
    gw = await withBody({ default: 'upstream-b' });
    const byHeader = await send({ method: 'GET', headers: { 'x-model': 'mistral-large' } });
    expect(byHeader.via).toBe('b');
    expect(byHeader.echoed!.headers['x-praxis-route-model']).toBe('mistral-large');
    const byBody = await send({ headers: { 'content-type': 'application/json' }, body: '{"model":"mistral-large"}' });
    expect(byBody.via).toBe('b');
    expect(byBody.echoed!.headers['x-praxis-route-model']).toBe('mistral-large');
  });

  it('a body that is not JSON, or lacks the field, goes to the default without a model header', async () => {
    gw = await gateway({ header: 'x-model', routes, default: 'upstream-a', bodyField: 'model' });
    for (const body of ['not json {', '{"prompt":"hi"}', '{"model": 42}', '[]']) {
      const r = await send({ headers: { 'content-type': 'application/json' }, body });
      expect(r.via, body).toBe('a');
      expect(r.echoed!.headers['x-praxis-route-model'], body).toBeUndefined();
      expect(r.echoed!.body).toBe(body);
    }
    // no body at all (GET, bodyField mode): default too
    const g = await send({ method: 'GET' });
    expect(g.via).toBe('a');
    expect(g.echoed!.headers['x-praxis-route-model']).toBeUndefined();
  });

  it('no header and no bodyField: the default', async () => {
    gw = await gateway({ header: 'x-model', routes, default: 'upstream-a' });
    const r = await send({ headers: { 'content-type': 'application/json' }, body: '{"model":"llama-3"}' });
    expect(r.via).toBe('a'); // the body is not looked at
    expect(r.echoed!.headers['x-praxis-route-model']).toBeUndefined();
    expect(r.echoed!.body).toBe('{"model":"llama-3"}');
  });

  it('unknown model and no default: continues unchanged (route upstream, no model header)', async () => {
    gw = await gateway({ header: 'x-model', routes, bodyField: 'model' });
    const h = await send({ method: 'GET', headers: { 'x-model': 'nope' } });
    expect(h.via).toBe('b'); // the route's own upstream
    expect(h.echoed!.headers['x-praxis-route-model']).toBeUndefined();
    const bd = await send({ body: '{"model":"nope"}' });
    expect(bd.via).toBe('b');
    expect(bd.echoed!.headers['x-praxis-route-model']).toBeUndefined();
    const known = await send({ body: '{"model":"gpt-4"}' });
    expect(known.via).toBe('a');
  });

  it('a body over maxBytes is refused with 413 before any upstream sees it', async () => {
    gw = await withBody({ maxBytes: 64 });
    const big = JSON.stringify({ model: 'gpt-4', prompt: 'y'.repeat(200) });
    const r = await send({ headers: { 'content-type': 'application/json' }, body: big });
    expect(r.status).toBe(413);
    expect(r.via).toBe('none');
    expect((JSON.parse(r.text) as { error: { type: string } }).error.type).toBe('body_too_large');
    // chunked, too
    const r2 = await send({ body: slowly([big.slice(0, 40), big.slice(40)]) });
    expect(r2.status).toBe(413);
    expect(r2.via).toBe('none');
    // exactly at the limit is fine
    const fits = JSON.stringify({ model: 'gpt-4', p: '' }).padEnd(64, ' ');
    expect(Buffer.byteLength(fits)).toBe(64);
    const ok = await send({ body: fits });
    expect(ok.status).toBe(200);
    expect(ok.via).toBe('a');
  });

  it('a header-decided request is not held by the body limit (chunks under the limit)', async () => {
    gw = await withBody({ maxBytes: 64 });
    const big = JSON.stringify({ model: 'llama-3', prompt: 'y'.repeat(500) });
    const parts: string[] = [];
    for (let i = 0; i < big.length; i += 32) parts.push(big.slice(i, i + 32));
    const r = await send({ headers: { 'x-model': 'gpt-4' }, body: slowly(parts, 5) });
    expect(r.status).toBe(200);
    expect(r.via).toBe('a');
    expect(r.echoed!.body).toBe(big);
  });

  // The held-bytes ceiling binds only while the filter keeps holding: a filter that lets go
  // (body-done, because the header already decided) is not refused for one large chunk.
  it('a header-decided request is not held by the body limit (one chunk over the limit)', async () => {
    gw = await withBody({ maxBytes: 64 });
    const big = JSON.stringify({ model: 'llama-3', prompt: 'y'.repeat(500) });
    const r = await send({ headers: { 'x-model': 'gpt-4' }, body: big });
    expect(r.status).toBe(200);
    expect(r.via).toBe('a');
    expect(r.echoed!.body).toBe(big);
  });

  it('unicode model names: in the body (raw UTF-8 and \\u escapes), split across chunks', async () => {
    gw = await withBody();
    const raw = await send({ headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"model":"llama-ü"}' });
    expect(raw.via).toBe('a');
    const escaped = await send({ body: '{"model":"llama-\\u00fc"}' });
    expect(escaped.via).toBe('a');
    // a multi-byte character cut between two chunks
    const bytes = Buffer.from('{"model":"モデル-7b"}', 'utf8');
    const cut = bytes.indexOf(0x83) + 1; // inside the 3-byte "モ"... any interior byte
    async function* split(): AsyncGenerator<Buffer> {
      yield bytes.subarray(0, cut);
      await sleep(40);
      yield bytes.subarray(cut);
    }
    const cjk = await send({ body: split() });
    expect(cjk.via).toBe('a');
    const unknown = await send({ body: '{"model":"ミストラル"}' });
    expect(unknown.via).toBe('b');
  });

  it('unicode model names: the x-praxis-route-model header the upstream sees', async () => {
    gw = await withBody();
    // Latin-1 model names survive as header text both ways.
    const viaHeader = await send({ method: 'GET', headers: { 'x-model': 'llama-ü' } });
    expect(viaHeader.via).toBe('a');
    expect(viaHeader.echoed!.headers['x-praxis-route-model']).toBe('llama-ü');
    const viaBody = await send({ body: '{"model":"llama-ü"}' });
    expect(viaBody.echoed!.headers['x-praxis-route-model']).toBe('llama-ü');
    // Beyond Latin-1 a header cannot carry the name as text: still routed, without the header.
    const cjk = await send({ body: '{"model":"モデル-7b"}' });
    expect(cjk.status).toBe(200);
    expect(cjk.via).toBe('a');
    expect(cjk.echoed!.headers['x-praxis-route-model']).toBeUndefined();
    // A control character in the name: same.
    const ctl = await send({ body: '{"model":"gpt-4\\r\\nx-evil: 1"}' });
    expect(ctl.status).toBe(200);
    expect(ctl.via).toBe('b');
    expect(ctl.echoed!.headers['x-praxis-route-model']).toBeUndefined();
    expect(ctl.echoed!.headers['x-evil']).toBeUndefined();
  });

  it('refuses a config without a `routes` object (the gateway does not start)', async () => {
    for (const config of [{}, { routes: 3 }, { routes: ['gpt-4'] }]) {
      const cfg: GatewayConfig = {
        plugins: { router: { path, config } },
        upstreams: { 'upstream-b': { endpoints: [b.url] } },
        routes: [{ name: 'main', upstream: 'upstream-b', filters: ['router'] }],
      };
      await expect(startTestGateway(cfg), JSON.stringify(config)).rejects.toThrow(/routes/);
    }
  });
});
