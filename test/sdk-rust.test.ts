/**
 * The Rust SDK end to end: header-router-rust and pd-disagg built by runtime/build/rust.ts,
 * transpiled by jco (the reference glue) and driven with JS host functions. Checks that every
 * field crosses the hand-written canonical ABI intact and that repeated calls do not leak.
 */
import { transpile } from '@bytecodealliance/jco';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '../scripts/build-plugins.ts';

const root = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'sdk-rust-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Obj = Record<string, any>;
interface Loaded { filter: Obj; memory: () => WebAssembly.Memory }

/** Builds (incrementally) and transpiles a plugin; returns a factory of instances. */
async function prepare(name: string, parent = 'plugins'): Promise<(imports: Obj) => Loaded> {
  const dir = join(root, parent, name);
  const bytes = await readFile(await buildPlugin(dir));
  const { files } = await transpile(bytes, { name, instantiation: 'sync', noTypescript: true });
  const modules = new Map<string, WebAssembly.Module>();
  for (const [file, data] of Object.entries(files)) {
    if (file.endsWith('.wasm')) modules.set(file, new WebAssembly.Module(data as BufferSource));
    else if (file.endsWith('.js')) writeFileSync(join(work, `${name}-${file}`.replace(/\.js$/, '.mjs')), data as Uint8Array);
  }
  const glue = await import(pathToFileURL(join(work, `${name}-${name}.mjs`)).href);
  return (imports) => {
    let mem: WebAssembly.Memory | undefined;
    const inst = glue.instantiate((f: string) => modules.get(f)!, imports, (m: WebAssembly.Module, i: Obj) => {
      const x = new WebAssembly.Instance(m, i);
      if (x.exports.memory) mem ??= x.exports.memory as WebAssembly.Memory;
      return x;
    });
    return { filter: inst.filter, memory: () => mem! };
  };
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const info = (id = 'req-1', attempt = 1) => ({ requestId: id, attempt, route: 'chat' });

function host(ctx = new Map<string, Uint8Array>(), logs: string[] = [], sub?: (r: Obj) => Obj) {
  return {
    'praxis:filter/context': { get: (k: string) => ctx.get(k), set: (k: string, v: Uint8Array) => void ctx.set(k, v.slice()) },
    'praxis:filter/log': { log: (level: string, msg: string) => void logs.push(`${level}:${msg}`) },
    'praxis:filter/http-client': {
      httpSubrequest: (r: Obj) => sub!(r),
      httpSubrequestAll: (rs: Obj[]) => rs.map((r) => {
        try { return { tag: 'ok', val: sub!(r) }; } catch (e) { return { tag: 'err', val: e }; }
      }),
    },
  };
}

describe('header-router-rust', () => {
  let make: (imports: Obj) => Loaded;
  const config = JSON.stringify({ header: 'x-model', routes: { 'gpt-4': 'upstream-a', 'modèle-ü': 'upstream-ü' }, default: 'upstream-b', bodyField: 'model', maxBytes: 1048576 });
  beforeAll(async () => { make = await prepare('header-router-rust'); }, 120_000);

  it('configures, and rejects a bad config with its reason', () => {
    const { filter } = make(host());
    expect(filter.configure(config)).toEqual({ name: 'header-router', requestBody: { tag: 'stream-buffer', val: 1048576 }, responseBody: { tag: 'none' },
      headerHooks: { requestHeaders: true, responseHeaders: false } });
    const bad = make(host()).filter;
    expect(() => bad.configure('{"routes": 3}')).toThrow(/routes must be an object/);
  });

  it('routes by header, unicode and 100 headers intact', () => {
    const ctx = new Map();
    const { filter } = make(host(ctx));
    filter.configure(config);
    const headers: [string, string][] = Array.from({ length: 100 }, (_, i) => [`x-h${i}`, `välue ${i} 😀`]);
    headers.push(['x-model', 'modèle-ü']);
    const act = filter.onRequestHeaders(info('ü-id'), { method: 'POST', path: '/v1/chat', authority: '', headers });
    expect(act).toEqual({ tag: 'continue', val: { setHeaders: [['x-praxis-route-model', 'modèle-ü']], removeHeaders: [], body: undefined, upstream: 'upstream-ü' } });
    expect(ctx.has('header-router.decided')).toBe(true);
    expect(filter.onRequestBody(info('ü-id'), enc.encode('{}'), true)).toEqual({ tag: 'body-done' });
  });

  it('decides from the JSON body at end of stream, across chunks and instances', () => {
    const ctx = new Map();
    const a = make(host(ctx)).filter, b = make(host(ctx)).filter;
    a.configure(config); b.configure(config);
    expect(a.onRequestHeaders(info(), { method: 'POST', path: '/', authority: 'h', headers: [] })).toEqual({ tag: 'continue', val: undefined });
    expect(a.onRequestBody(info(), enc.encode('{"messages":[], "mod'), false)).toEqual({ tag: 'continue', val: undefined });
    const act = b.onRequestBody(info(), enc.encode('el": "gpt-4"}'), true);
    expect(act.val.upstream).toBe('upstream-a');
    expect(act.val.setHeaders).toEqual([['x-praxis-route-model', 'gpt-4']]);
    const other = make(host()).filter;
    other.configure(config);
    expect(other.onRequestBody(info('r2'), enc.encode('{"model":"unknown"}'), true).val.upstream).toBe('upstream-b');
    expect(other.onRequestBody(info('r3'), enc.encode('not json'), true).val).toEqual({ setHeaders: [], removeHeaders: [], body: undefined, upstream: 'upstream-b' });
  });

  it('continues unchanged without a default; 1 MiB body; 10,000 calls do not grow memory', () => {
    const { filter, memory } = make(host());
    filter.configure(JSON.stringify({ routes: { a: 'up-a' }, bodyField: 'model' }));
    const big = enc.encode(JSON.stringify({ model: 'a', pad: 'x'.repeat(1 << 20) }));
    expect(filter.onRequestBody(info(), big, true).val.upstream).toBe('up-a');
    expect(filter.onRequestBody(info(), enc.encode('{"model":"zzz"}'), true)).toEqual({ tag: 'continue', val: undefined });
    const call = (i: number) => filter.onRequestHeaders(info(`id-${i}`), { method: 'GET', path: `/p/${i}`, authority: 'é', headers: [['x-model', i % 2 ? 'a' : 'b'], ['', '']] });
    for (let i = 0; i < 1000; i++) call(i);
    const size = memory().buffer.byteLength;
    for (let i = 0; i < 10_000; i++) call(i);
    expect(memory().buffer.byteLength).toBe(size);
  });
});

describe('pd-disagg', () => {
  let make: (imports: Obj) => Loaded;
  const config = JSON.stringify({ prefill: ['http://127.0.0.1:9301', 'http://127.0.0.1:9302'], decodeUpstream: 'decode', timeoutMs: 2000, maxBytes: 1048576 });
  const body = enc.encode(JSON.stringify({ model: 'llama', messages: [{ role: 'user', content: 'héllo' }], max_tokens: 256, stream: true }));
  beforeAll(async () => { make = await prepare('pd-disagg'); }, 120_000);

  function run(ctx: Map<string, Uint8Array>, sub: (r: Obj) => Obj, id = 'req-42', attempt = 1) {
    const { filter } = make(host(ctx, [], sub));
    filter.configure(config);
    filter.onRequestHeaders(info(id, attempt), { method: 'POST', path: '/v1/chat/completions', authority: 'gw', headers: [['content-type', 'application/json']] });
    return filter.onRequestBody(info(id, attempt), body, true);
  }

  it('prefills with max_tokens=1, forwards the KV params to decode, and does not prefill again on retry', () => {
    const ctx = new Map<string, Uint8Array>();
    const calls: Obj[] = [];
    const sub = (r: Obj) => {
      calls.push(r);
      return { status: 200, headers: [['content-type', 'application/json']], body: enc.encode('{"id":"p","kv_transfer_params": {\n "remote_block_ids": [1, 2],\n "remote_host": "10.0.0.7"\n},"choices":[]}') };
    };
    const act = run(ctx, sub);
    expect(calls).toHaveLength(1);
    const req = calls[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toMatch(/^http:\/\/127\.0\.0\.1:930[12]\/v1\/completions$/);
    expect(req.headers).toContainEqual(['x-prefill-request-id', 'req-42']);
    expect(req.timeoutMs).toBe(2000);
    const sent = JSON.parse(dec.decode(req.body));
    expect(sent).toEqual({ model: 'llama', messages: [{ role: 'user', content: 'héllo' }], max_tokens: 1, stream: true });
    expect(act.tag).toBe('continue');
    expect(act.val.upstream).toBe('decode');
    const hdr = Object.fromEntries(act.val.setHeaders);
    expect(JSON.parse(hdr['x-kv-transfer-params'])).toEqual({ remote_block_ids: [1, 2], remote_host: '10.0.0.7' });
    expect(hdr['x-prefill-endpoint']).toBe(req.url.replace('/v1/completions', ''));
    expect(dec.decode(ctx.get('pd-step'))).toBe('DECODE_FORWARDED');
    // A retry of the same request: no second prefill, same KV params.
    const again = run(ctx, sub, 'req-42', 2);
    expect(calls).toHaveLength(1);
    expect(again.val).toEqual(act.val);
  });

  it('inserts max_tokens when absent and fails over past timeouts, connect errors and 5xx', () => {
    const outcomes = [() => { throw { tag: 'timeout' }; }, () => ({ status: 503, headers: [], body: new Uint8Array() })];
    const urls: string[] = [];
    const sub = (r: Obj) => {
      urls.push(r.url);
      expect(JSON.parse(dec.decode(r.body)).max_tokens).toBe(1);
      const o = outcomes.shift();
      if (o) return o();
      return { status: 200, headers: [], body: enc.encode('{"kv_transfer_params":{"k":"v"}}') };
    };
    const { filter } = make(host(new Map(), [], sub));
    filter.configure(JSON.stringify({ prefill: ['http://a', 'http://b', 'http://c'], decodeUpstream: 'd' }));
    filter.onRequestHeaders(info('x'), { method: 'POST', path: '/v1/completions', authority: '', headers: [] });
    const act = filter.onRequestBody(info('x'), enc.encode('{"model":"m","prompt":"p"}'), true);
    expect(new Set(urls).size).toBe(3);
    expect(Object.fromEntries(act.val.setHeaders)['x-kv-transfer-params']).toBe('{"k":"v"}');
  });

  it('rejects 503 prefill_unavailable when every endpoint fails', () => {
    const errs = [{ tag: 'connect', val: 'refused ü' }, { tag: 'protocol', val: '' }];
    let i = 0;
    const act = run(new Map(), () => { throw errs[i++ % 2]; });
    expect(act.tag).toBe('reject');
    expect(act.val.status).toBe(503);
    expect(JSON.parse(dec.decode(act.val.body))).toEqual({ error: { type: 'prefill_unavailable' } });
  });

  it('passes GET and non-LLM bodies through untouched', () => {
    const { filter } = make(host(new Map(), [], () => { throw new Error('no prefill expected'); }));
    filter.configure(config);
    filter.onRequestHeaders(info(), { method: 'GET', path: '/', authority: '', headers: [] });
    expect(filter.onRequestBody(info(), new Uint8Array(), true)).toEqual({ tag: 'body-done' });
    const ctx = new Map();
    const post = make(host(ctx, [], () => { throw new Error('no prefill expected'); })).filter;
    post.configure(config);
    post.onRequestHeaders(info(), { method: 'POST', path: '/', authority: '', headers: [] });
    expect(post.onRequestBody(info(), enc.encode('{"input":"embed me"}'), true)).toEqual({ tag: 'continue', val: undefined });
  });
});

describe('panicker fixture', () => {
  it('logs the panic message at error, then traps', async () => {
    const make = await prepare('panicker', join('test', 'fixtures'));
    const logs: string[] = [];
    const { filter } = make(host(new Map(), logs));
    filter.configure('{}');
    expect(filter.onRequestHeaders(info(), { method: 'GET', path: '/', authority: '', headers: [] })).toEqual({ tag: 'continue', val: undefined });
    expect(() => filter.onRequestHeaders(info(), { method: 'GET', path: '/', authority: '', headers: [['x-panic', 'ünïcode']] })).toThrow(WebAssembly.RuntimeError);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^error:panic: boom: ünïcode at src\/lib\.rs:\d+$/);
  }, 120_000);
});
