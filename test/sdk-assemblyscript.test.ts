/**
 * The AssemblyScript SDK, end to end: real components built from test/fixtures/testkit and
 * plugins/header-router, transpiled by jco and driven through every hook with JS host
 * functions, so each lifted and lowered field of the canonical ABI glue is checked.
 */
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { componentWit, transpile } from '@bytecodealliance/jco';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '../scripts/build-plugins.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

type Headers = Array<[string, string]>;
type SubResult = { tag: 'ok'; val: { status: number; headers: Headers; body: Uint8Array } } | { tag: 'err'; val: { tag: string; val?: string } };
interface Sub { method: string; url: string; headers: Headers; body?: Uint8Array; timeoutMs?: number }

/** What the guest can reach; a fresh one per instance. */
class Host {
  logs: Array<[string, string]> = [];
  ctx = new Map<string, Uint8Array>();
  kv = new Map<string, Uint8Array>();
  subs: Sub[] = [];
  answer: (req: Sub) => SubResult = () => ({ tag: 'err', val: { tag: 'denied', val: 'no host handler' } });
  imports() {
    return {
      'praxis:filter/types': {},
      'praxis:filter/http-client': {
        httpSubrequest: (req: Sub) => (this.subs.push(req), this.answer(req)),
        httpSubrequestAll: (reqs: Sub[]) => reqs.map((r) => (this.subs.push(r), this.answer(r))),
      },
      'praxis:filter/context': {
        get: (k: string) => this.ctx.get(k),
        set: (k: string, v: Uint8Array) => void this.ctx.set(k, Uint8Array.from(v)),
      },
      'praxis:filter/log': { log: (level: string, msg: string) => void this.logs.push([level, msg]) },
      // The SDK's keyvalue calls are covered by test/keyvalue-guest/; here a plain map answers them.
      'praxis:filter/keyvalue': {
        get: (s: string, k: string) => this.kv.get(`${s}/${k}`),
        set: (s: string, k: string, v: Uint8Array) => void this.kv.set(`${s}/${k}`, Uint8Array.from(v)),
        delete: (s: string, k: string) => this.kv.delete(`${s}/${k}`),
        increment: (s: string, k: string, d: bigint) => {
          const n = BigInt(new TextDecoder().decode(this.kv.get(`${s}/${k}`) ?? new Uint8Array([48]))) + d;
          this.kv.set(`${s}/${k}`, new TextEncoder().encode(String(n)));
          return n;
        },
        compareAndSwap: () => false,
      },
      // The clock is covered by test/clock/ on both bindings; here fixed readings.
      'praxis:filter/clock': { nowMs: () => 1_700_000_000_000n, monotonicMs: () => 0n },
    };
  }
}

/** jco's JS view of a variant: `{ tag, val }`, `val` shaped by the case. */
interface JcoVariant {
  tag: string;
  /** Absent for cases without a payload (release, body-done); the tests read it only where one is expected. */
  val: JcoValue;
}

/** The payloads the tests read: mutations, rejections, body-mode sizes. */
interface JcoValue {
  setHeaders?: Headers;
  removeHeaders?: string[];
  headers?: Headers;
  body?: Uint8Array;
  upstream?: string;
  status?: number;
  [key: string]: unknown;
}

/** jco's JS view of the exported filter interface. */
interface JcoFilter {
  configure(config: string): { name: string; requestBody: JcoVariant; responseBody: JcoVariant; headerHooks: { requestHeaders: boolean; responseHeaders: boolean } };
  onRequestHeaders(info: object, head: object): JcoVariant;
  onRequestBody(info: object, chunk: Uint8Array, endOfStream: boolean): JcoVariant;
  onResponseHeaders(info: object, head: object): JcoVariant;
  onResponseBody(info: object, chunk: Uint8Array, endOfStream: boolean): JcoVariant;
}

interface Instance {
  host: Host;
  filter: JcoFilter;
  memory: () => number;
}

/** Builds, transpiles (once) and returns a factory of fresh instances. */
async function loadComponent(dir: string): Promise<{ bytes: Uint8Array; make: () => Promise<Instance> }> {
  const wasm = await buildPlugin(join(root, dir));
  const bytes = new Uint8Array(await readFile(wasm));
  const { files } = await transpile(bytes, { name: 'plugin', instantiation: 'async', noTypescript: true });
  const out = await mkdtemp(join(tmpdir(), 'praxis-as-'));
  for (const [name, data] of Object.entries(files)) {
    await mkdir(dirname(join(out, name)), { recursive: true });
    await writeFile(join(out, name), data);
  }
  await writeFile(join(out, 'package.json'), '{"type":"module"}');
  const mod = await import(pathToFileURL(join(out, 'plugin.js')).href);
  const modules = new Map<string, WebAssembly.Module>();
  const make = async (): Promise<Instance> => {
    const host = new Host();
    let memory: WebAssembly.Memory | undefined;
    const getCore = async (name: string) => {
      if (!modules.has(name)) modules.set(name, await WebAssembly.compile(await readFile(join(out, name))));
      return modules.get(name)!;
    };
    const instantiateCore = async (m: WebAssembly.Module, imports?: WebAssembly.Imports) => {
      const inst = await WebAssembly.instantiate(m, imports);
      if (inst.exports.cabi_realloc && inst.exports.memory) memory = inst.exports.memory as WebAssembly.Memory;
      return inst;
    };
    const root = await mod.instantiate(getCore, host.imports(), instantiateCore);
    return { host, filter: root.filter ?? root['praxis:filter/filter@0.2.0'], memory: () => memory!.buffer.byteLength };
  };
  return { bytes, make };
}

const info = (over: Partial<{ requestId: string; attempt: number; route: string }> = {}) => ({ requestId: 'req-1', attempt: 1, route: 'default', ...over });
const head = (headers: Headers = [], over: object = {}) => ({ method: 'POST', path: '/v1/chat', authority: 'gw.local', headers, ...over });
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b?: Uint8Array) => new TextDecoder().decode(b);
const hdr = (a: JcoVariant, name: string) => (a.val?.setHeaders as Headers | undefined)?.find(([n]) => n === name)?.[1];

let testkit: Awaited<ReturnType<typeof loadComponent>>;
let router: Awaited<ReturnType<typeof loadComponent>>;

async function kit(config: object): Promise<Instance> {
  const inst = await testkit.make();
  inst.filter.configure(JSON.stringify(config));
  return inst;
}

beforeAll(async () => {
  testkit = await loadComponent('test/fixtures/testkit');
  router = await loadComponent('plugins/header-router');
}, 120_000);

describe('component shape', () => {
  it('exports praxis:filter/filter and imports only praxis interfaces', async () => {
    for (const c of [testkit, router]) {
      const wit = await componentWit(c.bytes);
      expect(wit).toContain('export praxis:filter/filter@0.2.0;');
      const imports = [...wit.matchAll(/^\s*import ([^;]+);/gm)].map((m) => m[1]!);
      expect(imports.length).toBeGreaterThan(0);
      for (const i of imports) expect(i).toMatch(/^praxis:filter\//);
    }
  });
});

describe('testkit through the SDK glue', () => {
  it('configure: name, body modes, errors', async () => {
    const a = await testkit.make();
    expect(a.filter.configure(JSON.stringify({ name: 'tk-ü', requestBody: 'buffer:1024', responseBody: 'stream' }))).toEqual({
      name: 'tk-ü',
      requestBody: { tag: 'stream-buffer', val: 1024 },
      responseBody: { tag: 'stream' },
      headerHooks: { requestHeaders: true, responseHeaders: true },
    });
    const h = await testkit.make();
    expect(h.filter.configure('{"headerHooks":["response-headers"]}').headerHooks).toEqual({ requestHeaders: false, responseHeaders: true });
    const b = await testkit.make();
    expect(() => b.filter.configure('{"failConfigure":"bad ✗"}')).toThrow(expect.objectContaining({ payload: 'bad ✗' }));
    const c = await testkit.make();
    expect(() => c.filter.configure('{"name":"n","trapOnConfigure":true}')).toThrow(expect.objectContaining({ payload: 'configure refused: n' }));
    const d = await testkit.make();
    expect(d.filter.configure('')).toMatchObject({ name: 'testkit', requestBody: { tag: 'none' } });
    // The SDK's JSON reader: escapes, surrogate pairs, nesting, numbers, whitespace.
    const e = await testkit.make();
    const cfg = ' {"x": [1, -2.5e3, true, false, null, {"y": {}}], "name": "\\u00fc\\ud83d\\ude00 \\"q\\"\\n", "requestBody": "buffer:7"} ';
    expect(e.filter.configure(cfg)).toMatchObject({ name: 'ü😀 "q"\n', requestBody: { tag: 'stream-buffer', val: 7 } });
    const f = await testkit.make();
    expect(() => f.filter.configure('{"name": "x",}')).toThrow(expect.objectContaining({ payload: 'testkit: config is not a JSON object' }));
  });

  it('lifts every request field (unicode, empty strings, 100 headers) and lowers them back', async () => {
    const t = await kit({ echo: true });
    const headers: Headers = Array.from({ length: 100 }, (_, i) => [`x-h${i}`, i % 3 === 0 ? '' : `välue-${i}-🦀`]);
    const a = t.filter.onRequestHeaders(info({ requestId: 'ид-😀', attempt: 7, route: '' }), head(headers, { method: 'GET', path: '/ü?q=✓', authority: '' }));
    expect(a.tag).toBe('continue');
    const set = a.val.setHeaders as Headers;
    expect(set.slice(0, 6)).toEqual([
      ['x-echo-method', 'GET'], ['x-echo-path', '/ü?q=✓'], ['x-echo-authority', ''],
      ['x-echo-request-id', 'ид-😀'], ['x-echo-attempt', '7'], ['x-echo-route', ''],
    ]);
    expect(set.slice(6)).toEqual(headers);
    expect(a.val.removeHeaders).toEqual([]);
    expect(a.val.body).toBeUndefined();
    expect(a.val.upstream).toBeUndefined();
    const r = t.filter.onResponseHeaders(info(), { status: 599, headers: [['é', 'ß'], ['', '']] });
    expect(r.val.setHeaders).toEqual([['x-echo-status', '599'], ['é', 'ß'], ['', '']]);
  });

  it('round-trips 1 MiB and empty bodies', async () => {
    const t = await kit({ echo: true, requestBody: 'stream' });
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
    const a = t.filter.onRequestBody(info(), big, true);
    expect(a.val.body).toEqual(big);
    expect(hdr(a, 'x-echo-eos')).toBe('1');
    const e = t.filter.onResponseBody(info(), new Uint8Array(0), false);
    expect(e.val.body).toEqual(new Uint8Array(0));
    expect(hdr(e, 'x-echo-eos')).toBe('0');
  });

  it('order, set/remove headers, upstream', async () => {
    const t = await kit({ name: 'b', order: true, setRequestHeader: ['x-set', 'v ✓'], removeRequestHeader: 'x-gone', upstreamFromHeader: 'x-up', setResponseHeader: ['x-r', '1'] });
    const a = t.filter.onRequestHeaders(info(), head([['x-order', 'a'], ['x-up', 'upstream-ß']]));
    expect(a.val).toEqual({ setHeaders: [['x-order', 'a,b'], ['x-set', 'v ✓']], removeHeaders: ['x-gone'], body: undefined, upstream: 'upstream-ß' });
    const r = t.filter.onResponseHeaders(info(), { status: 200, headers: [] });
    expect(r.val.setHeaders).toEqual([['x-order', 'b'], ['x-r', '1']]);
  });

  it('rejects on request and response', async () => {
    const t = await kit({ name: 'gate', rejectStatus: 451, rejectBody: 'nope ✗' });
    const a = t.filter.onRequestHeaders(info(), head());
    expect(a).toEqual({ tag: 'reject', val: { status: 451, headers: [['x-rejected-by', 'gate']], body: enc('nope ✗') } });
    const u = await kit({ name: 'g2', rejectIfHeader: 'x-bad', rejectResponseStatus: 502 });
    expect(u.filter.onRequestHeaders(info(), head()).tag).toBe('continue');
    expect(u.filter.onRequestHeaders(info(), head([['x-bad', '']]))).toEqual({ tag: 'reject', val: { status: 403, headers: [], body: enc('rejected by g2') } });
    const r = u.filter.onResponseHeaders(info(), { status: 200, headers: [] });
    expect(r.tag).toBe('reject');
    expect(r.val.status).toBe(502);
    expect(dec(r.val.body)).toBe('replaced by g2');
  });

  it('a trap surfaces as an exception and logs nothing else', async () => {
    const t = await kit({ trapIfHeader: 'x-trap' });
    expect(() => t.filter.onRequestHeaders(info(), head([['x-trap', '1']]))).toThrow(/unreachable/);
  });

  it('sub-request: lowers the request, lifts every result variant', async () => {
    const t = await kit({ subrequestUrlHeader: 'x-url', forgeHeaders: true });
    t.host.answer = () => ({ tag: 'ok', val: { status: 201, headers: [['h', 'v']], body: enc('é'.repeat(150)) } });
    const a = t.filter.onRequestHeaders(info(), head([['x-url', 'http://127.0.0.1:9/ü']]));
    expect(t.host.subs[0]).toEqual({
      method: 'GET', url: 'http://127.0.0.1:9/ü', body: undefined, timeoutMs: undefined,
      headers: [['x-request-id', 'forged'], ['x-processor-attempt', '99'], ['traceparent', '00-forged'], ['x-praxis-depth', '0']],
    });
    expect(hdr(a, 'x-sub-status')).toBe('201');
    expect(hdr(a, 'x-sub-body')).toBe('é'.repeat(100)); // first 200 bytes
    const cases: Array<[SubResult['val'], string]> = [
      [{ tag: 'timeout' }, 'timeout'], [{ tag: 'too-large' }, 'too-large'], [{ tag: 'denied', val: 'host ✗' }, 'denied:host ✗'],
      [{ tag: 'overloaded' }, 'overloaded'], [{ tag: 'cancelled' }, 'cancelled'], [{ tag: 'connect', val: 'ECONNREFUSED' }, 'connect:ECONNREFUSED'],
      [{ tag: 'protocol', val: '' }, 'protocol:'],
    ];
    for (const [err, want] of cases) {
      t.host.answer = () => ({ tag: 'err', val: err } as SubResult);
      expect(hdr(t.filter.onRequestHeaders(info(), head([['x-url', 'http://x/']])), 'x-sub-error')).toBe(want);
    }
  });

  it('fan-out: results in order', async () => {
    const t = await kit({ fanoutUrlsHeader: 'x-fan' });
    t.host.answer = (r) => (r.url.endsWith('/a') ? { tag: 'ok', val: { status: 200, headers: [], body: new Uint8Array() } } : r.url.endsWith('/b') ? { tag: 'err', val: { tag: 'timeout' } } : { tag: 'err', val: { tag: 'connect', val: 'refused' } });
    const a = t.filter.onRequestHeaders(info(), head([['x-fan', 'http://h/a, http://h/b,http://h/c']]));
    expect(hdr(a, 'x-fanout')).toBe('200,timeout,connect:refused');
    expect(t.host.subs.map((s) => s.url)).toEqual(['http://h/a', 'http://h/b', 'http://h/c']);
  });

  it('context counter across hooks and instances', async () => {
    const t = await kit({ contextCounter: true });
    expect(hdr(t.filter.onRequestHeaders(info(), head()), 'x-context-count')).toBe('1');
    const u = await kit({ contextCounter: true });
    u.host.ctx = t.host.ctx; // same request, another pooled instance
    expect(hdr(u.filter.onRequestHeaders(info(), head()), 'x-context-count')).toBe('2');
    expect(hdr(t.filter.onResponseHeaders(info(), { status: 200, headers: [] }), 'x-context-count')).toBe('2');
    expect(t.host.ctx.get('count')).toEqual(new Uint8Array([2, 0, 0, 0]));
  });

  it('body hooks: logChunks, upperCaseBody over several chunks, releaseAt, bodyDoneAfterFirst', async () => {
    const t = await kit({ logChunks: true, requestBody: 'buffer:100', upperCaseBody: 'request' });
    expect(t.filter.onRequestBody(info(), enc('hello '), false)).toEqual({ tag: 'continue', val: undefined });
    const a = t.filter.onRequestBody(info(), enc('wörld'), true);
    expect(dec(a.val.body)).toBe('HELLO WöRLD');
    expect(t.host.logs).toEqual([['info', 'chunk request 6 eos=0 hello '], ['info', 'chunk request 6 eos=1 wörld']]);
    const r = await kit({ releaseAt: 8, requestBody: 'buffer:64' });
    expect(r.filter.onRequestBody(info(), enc('12345'), false).tag).toBe('continue');
    expect(r.filter.onRequestBody(info(), enc('6789'), false).tag).toBe('release');
    const d = await kit({ bodyDoneAfterFirst: true, responseBody: 'stream' });
    expect(d.filter.onResponseBody(info(), enc('x'), false).tag).toBe('body-done');
    const u = await kit({ responseBody: 'buffer:10', upperCaseBody: 'response' });
    expect(dec(u.filter.onResponseBody(info(), enc('abc'), true).val.body)).toBe('ABC');
  });

  it('memory is reclaimed: allocIfHeader and 10,000 calls keep the high-water mark flat', async () => {
    const t = await kit({ allocIfHeader: 'x-alloc', order: true, contextCounter: true, echo: false });
    expect(t.filter.onRequestHeaders(info(), head([['x-alloc', '8']])).tag).toBe('continue');
    const headers: Headers = Array.from({ length: 30 }, (_, i) => [`x-${i}`, 'v'.repeat(i * 10)]);
    const body = new Uint8Array(64 * 1024);
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        t.filter.onRequestHeaders(info({ requestId: `r-${i}` }), head(headers));
        t.filter.onRequestBody(info(), body, true);
        t.filter.onResponseHeaders(info(), { status: 200, headers });
        t.filter.onResponseBody(info(), body, true);
      }
    };
    run(100);
    const before = t.memory();
    run(10_000);
    expect(t.memory()).toBe(before);
    expect(before).toBeLessThan(16 << 20); // 8 MiB of allocIfHeader plus the arena, not more
  }, 60_000);
});

describe('header-router', () => {
  const config = { header: 'x-model', routes: { 'gpt-4': 'upstream-a', 'llama-ü': 'upstream-c' }, default: 'upstream-b', bodyField: 'model' };
  async function routerWith(cfg: object) {
    const r = await router.make();
    return { r, infoOut: r.filter.configure(JSON.stringify(cfg)) };
  }

  it('configure asks for a buffered request body only with bodyField', async () => {
    expect((await routerWith(config)).infoOut).toEqual({ name: 'header-router', requestBody: { tag: 'stream-buffer', val: 1 << 20 }, responseBody: { tag: 'none' },
      headerHooks: { requestHeaders: true, responseHeaders: false } });
    expect((await routerWith({ ...config, bodyField: undefined, maxBytes: 10 })).infoOut.requestBody).toEqual({ tag: 'none' });
    expect((await routerWith({ ...config, maxBytes: 4096 })).infoOut.requestBody).toEqual({ tag: 'stream-buffer', val: 4096 });
    const bad = await router.make();
    expect(() => bad.filter.configure('{"routes": 3}')).toThrow();
  });

  it('routes by header, unknown -> default', async () => {
    const { r } = await routerWith(config);
    expect(r.filter.onRequestHeaders(info(), head([['x-model', 'llama-ü']]))).toEqual({
      tag: 'continue', val: { setHeaders: [['x-praxis-route-model', 'llama-ü']], removeHeaders: [], body: undefined, upstream: 'upstream-c' },
    });
    expect(r.filter.onRequestHeaders(info(), head([['x-model', 'other']])).val.upstream).toBe('upstream-b');
    // the header decided: the body hook opts out
    expect(r.filter.onRequestBody(info(), enc('{}'), true).tag).toBe('body-done');
  });

  it('routes by the body field on end of stream', async () => {
    const { r } = await routerWith(config);
    expect(r.filter.onRequestHeaders(info(), head()).tag).toBe('continue');
    expect(r.filter.onRequestBody(info(), enc('{"model": "gp'), false)).toEqual({ tag: 'continue', val: undefined });
    const a = r.filter.onRequestBody(info(), enc('t-4", "messages": []}'), true);
    expect(a.val).toMatchObject({ upstream: 'upstream-a', setHeaders: [['x-praxis-route-model', 'gpt-4']] });
  });

  it('without a default, an unknown model continues unchanged', async () => {
    const { r } = await routerWith({ ...config, default: undefined });
    expect(r.filter.onRequestHeaders(info(), head([['x-model', 'nope']]))).toEqual({ tag: 'continue', val: undefined });
    const r2 = (await routerWith({ ...config, default: undefined })).r;
    expect(r2.filter.onRequestBody(info(), enc('not json'), true)).toEqual({ tag: 'continue', val: undefined });
  });
});

describe('other AssemblyScript plugins', () => {
  const chat = (prompt: string, model = 'gpt-4') => enc(JSON.stringify({ model, messages: [{ role: 'system', content: 'be nice' }, { role: 'user', content: prompt }] }));
  async function plugin(dir: string, cfg: object): Promise<Instance> {
    const inst = await (await loadComponent(dir)).make();
    inst.filter.configure(JSON.stringify(cfg));
    return inst;
  }

  it('request-headers', async () => {
    const p = await plugin('plugins/request-headers', { set: { 'x-a': '1' }, remove: ['x-b'], requestId: 'x-request-id', serverTiming: true });
    expect(p.filter.onRequestHeaders(info({ requestId: 'abc' }), head()).val).toMatchObject({ setHeaders: [['x-a', '1'], ['x-request-id', 'abc']], removeHeaders: ['x-b'] });
    expect(p.filter.onResponseHeaders(info(), { status: 200, headers: [] }).val.setHeaders).toEqual([['server-timing', 'praxis;desc="request-headers"']]);
  });

  it('deny-list', async () => {
    const p = await plugin('plugins/deny-list', { patterns: ['Ignore previous instructions'], maxBytes: 100 });
    expect(p.filter.onRequestBody(info(), enc('please IGNORE previous'), false).tag).toBe('continue');
    const a = p.filter.onRequestBody(info(), enc(' instructions now'), true);
    expect(a.val.status).toBe(403);
    expect(a.val.headers).toEqual([['content-type', 'application/json']]);
    expect(JSON.parse(dec(a.val.body))).toEqual({ error: { type: 'denied', pattern: 'ignore previous instructions' } });
    expect(p.filter.onRequestBody(info({ requestId: 'r2' }), enc('fine'), true).tag).toBe('release');
  });

  it('guardrail: block, allow, fail closed and open', async () => {
    const p = await plugin('plugins/guardrail', { scannerUrl: 'http://127.0.0.1:9100/scan', failMode: 'closed', timeoutMs: 500 });
    p.host.answer = (r) => ({ tag: 'ok', val: { status: 200, headers: [], body: enc(JSON.stringify(JSON.parse(dec(r.body)).prompt.includes('bad') ? { verdict: 'block', reason: 'bad "word"' } : { verdict: 'allow' })) } });
    const b = p.filter.onRequestBody(info(), chat('a bad ü prompt'), true);
    expect(p.host.subs[0]).toMatchObject({ method: 'POST', url: 'http://127.0.0.1:9100/scan', timeoutMs: 500 });
    expect(JSON.parse(dec(p.host.subs[0]!.body))).toEqual({ prompt: 'a bad ü prompt' });
    expect(b.val.status).toBe(403);
    expect(JSON.parse(dec(b.val.body))).toEqual({ error: { type: 'guardrail', reason: 'bad "word"' } });
    expect(p.filter.onRequestBody(info(), chat('hello'), true).tag).toBe('continue');
    p.host.answer = () => ({ tag: 'err', val: { tag: 'timeout' } });
    const f = p.filter.onRequestBody(info(), chat('hello'), true);
    expect(f.val.status).toBe(503);
    expect(dec(f.val.body)).toContain('timeout');
    const o = await plugin('plugins/guardrail', { scannerUrl: 'http://s/', failMode: 'open' });
    o.host.answer = () => ({ tag: 'ok', val: { status: 500, headers: [], body: new Uint8Array() } });
    expect(o.filter.onRequestBody(info(), chat('hello'), true).tag).toBe('continue');
    expect(o.host.logs[0]?.[0]).toBe('warn');
  });

  it('semantic-cache: hit, miss then store, errors never fail', async () => {
    const p = await plugin('plugins/semantic-cache', { cacheUrl: 'http://127.0.0.1:9200', timeoutMs: 300 });
    const store = new Map<string, Uint8Array>();
    p.host.answer = (r) => {
      if (r.method === 'PUT') return store.set(r.url, r.body!), { tag: 'ok', val: { status: 204, headers: [], body: new Uint8Array() } };
      const hit = store.get(r.url);
      return { tag: 'ok', val: hit ? { status: 200, headers: [], body: hit } : { status: 404, headers: [], body: new Uint8Array() } };
    };
    expect(p.filter.onRequestBody(info(), chat('What  is\nWasm? '), true).tag).toBe('continue');
    expect(p.host.subs[0]!.url).toMatch(/^http:\/\/127\.0\.0\.1:9200\/cache\/[0-9a-f]{8}$/);
    expect(p.filter.onResponseHeaders(info(), { status: 200, headers: [] }).val.setHeaders).toEqual([['x-praxis-cache', 'miss']]);
    expect(p.filter.onResponseBody(info(), enc('{"answer":'), false).tag).toBe('continue');
    expect(p.filter.onResponseBody(info(), enc('42}'), true).tag).toBe('continue');
    expect(dec(store.get(p.host.subs[0]!.url))).toBe('{"answer":42}');
    p.host.ctx.clear(); // next request, same normalised prompt
    const hit = p.filter.onRequestBody(info(), chat('what is wasm?'), true);
    expect(hit).toEqual({ tag: 'reject', val: { status: 200, headers: [['content-type', 'application/json'], ['x-praxis-cache', 'hit']], body: enc('{"answer":42}') } });
    p.host.answer = () => ({ tag: 'err', val: { tag: 'connect', val: 'refused' } });
    p.host.ctx.clear();
    expect(p.filter.onRequestBody(info(), chat('new'), true).tag).toBe('continue');
    expect(p.host.logs.at(-1)?.[0]).toBe('warn');
  });
});
