/**
 * Differential tests: the same inputs through the fast binding and the jco glue, on real built
 * components, must give the same results, the same host calls, and the same failures.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuestTrap } from '../../runtime/component/errors.ts';
import { loadComponent } from '../../runtime/component/loader.ts';
import type {
  FilterInstance, HeaderList, HostCalls, RequestHead, RequestInfo, Subrequest, SubrequestError, SubrequestResult,
} from '../../runtime/component/types.ts';
import { fixturePath, pluginPath, ROOT } from '../helpers/servers.ts';
import type { KvError, KvResult } from '../../runtime/keyvalue/types.ts';

const cacheDir = `${ROOT}.praxis-cache`;
const TESTKIT = fixturePath('testkit');
const ROUTER_AS = pluginPath('header-router');
const ROUTER_RUST = pluginPath('header-router-rust');

type Outcome = { ok: true; value: unknown } | { ok: false; trap: boolean; name: string };

/** A host that records every call, answers sub-requests from a script and keeps a key-value map (or fails every store call with `kvError`). */
class RecordingHost implements HostCalls {
  readonly calls: unknown[] = [];
  readonly store = new Map<string, Uint8Array>();
  readonly kv = new Map<string, Uint8Array>();
  private readonly answer: (req: Subrequest, i: number) => SubrequestResult;
  private readonly kvError: KvError | undefined;
  constructor(answer: (req: Subrequest, i: number) => SubrequestResult = () => ({ ok: false, error: { tag: 'timeout' } }), kvError?: KvError) {
    this.answer = answer;
    this.kvError = kvError;
  }
  private n = 0;
  async httpSubrequest(req: Subrequest): Promise<SubrequestResult> {
    this.calls.push(['sub', req]);
    return this.answer(req, this.n++);
  }
  async httpSubrequestAll(reqs: Subrequest[]): Promise<SubrequestResult[]> {
    this.calls.push(['all', reqs]);
    return reqs.map((r) => this.answer(r, this.n++));
  }
  contextGet(key: string): Uint8Array | undefined {
    this.calls.push(['get', key]);
    const v = this.store.get(key);
    return v === undefined ? undefined : v.slice();
  }
  contextSet(key: string, value: Uint8Array): void {
    this.calls.push(['set', key, value.slice()]);
    this.store.set(key, value.slice());
  }
  log(level: string, msg: string): void {
    this.calls.push(['log', level, msg]);
  }
  private async kvAnswer<T>(call: unknown[], value: () => T): Promise<KvResult<T>> {
    this.calls.push(call);
    return this.kvError ? { ok: false, error: this.kvError } : { ok: true, value: value() };
  }
  kvGet(ns: string, key: string): Promise<KvResult<Uint8Array | undefined>> {
    return this.kvAnswer(['kv-get', ns, key], () => this.kv.get(`${ns}/${key}`)?.slice());
  }
  kvSet(ns: string, key: string, value: Uint8Array, ttlMs?: number): Promise<KvResult<void>> {
    return this.kvAnswer(['kv-set', ns, key, value.slice(), ttlMs], () => void this.kv.set(`${ns}/${key}`, value.slice()));
  }
  kvDelete(ns: string, key: string): Promise<KvResult<boolean>> {
    return this.kvAnswer(['kv-delete', ns, key], () => this.kv.delete(`${ns}/${key}`));
  }
  kvIncrement(ns: string, key: string, delta: bigint, ttlMs?: number): Promise<KvResult<bigint>> {
    return this.kvAnswer(['kv-increment', ns, key, String(delta), ttlMs], () => {
      const next = BigInt(new TextDecoder().decode(this.kv.get(`${ns}/${key}`) ?? new TextEncoder().encode('0'))) + delta;
      this.kv.set(`${ns}/${key}`, new TextEncoder().encode(String(next)));
      return next;
    });
  }
  /** Fixed readings past 2^32 (a u64 cut to 32 bits would show), the same for both bindings. */
  clockNowMs(): number {
    this.calls.push(['clock-now']);
    return 1_767_225_600_123;
  }
  clockMonotonicMs(): number {
    this.calls.push(['clock-monotonic']);
    return 4_294_967_296 + 42;
  }
  kvCompareAndSwap(ns: string, key: string, expected: Uint8Array | undefined, value: Uint8Array, ttlMs?: number): Promise<KvResult<boolean>> {
    return this.kvAnswer(['kv-cas', ns, key, expected?.slice(), value.slice(), ttlMs], () => {
      const current = this.kv.get(`${ns}/${key}`);
      const same = current === undefined || expected === undefined ? current === expected : Buffer.from(current).equals(expected);
      if (same) this.kv.set(`${ns}/${key}`, value.slice());
      return same;
    });
  }
}

interface Pair { fast: FilterInstance; jco: FilterInstance }

async function pair(path: string, config: string, memoryLimitBytes?: number): Promise<Pair> {
  const opts = { cacheDir, ...(memoryLimitBytes ? { memoryLimitBytes } : {}) };
  const [f, j] = await Promise.all([
    loadComponent(path, { ...opts, binding: 'fast' }),
    loadComponent(path, { ...opts, binding: 'jco' }),
  ]);
  expect(f.factory.binding).toBe('fast');
  expect(j.factory.binding).toBe('jco');
  const fast = await f.factory.instantiate();
  const jco = await j.factory.instantiate();
  const host = new RecordingHost();
  const [cf, cj] = await Promise.all([fast.configure(host, config), jco.configure(host, config)]);
  expect(cf).toEqual(cj);
  return { fast, jco };
}

/** Plain data for comparison: Uint8Array (or Buffer) becomes a byte array. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { hex: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: plain(await p) };
  } catch (err) {
    return { ok: false, trap: err instanceof GuestTrap, name: (err as Error).name };
  }
}

type Op = (inst: FilterInstance, host: HostCalls) => Promise<unknown>;

/** Runs `op` on both bindings, each with its own recording host; expects equal outcomes and host calls. */
async function same(p: Pair, op: Op, answer?: (req: Subrequest, i: number) => SubrequestResult, kvError?: KvError): Promise<Outcome> {
  const hf = new RecordingHost(answer, kvError);
  const hj = new RecordingHost(answer, kvError);
  const of = await outcome(op(p.fast, hf));
  const oj = await outcome(op(p.jco, hj));
  expect(of).toEqual(oj);
  expect(plain(hf.calls)).toEqual(plain(hj.calls));
  return of;
}

const info: RequestInfo = { requestId: 'req-1', attempt: 1, route: 'default' };
const head = (headers: HeaderList, extra: Partial<RequestHead> = {}): RequestHead => ({ method: 'GET', path: '/p', authority: 'example.test', headers, ...extra });
const reqHeaders = (headers: HeaderList, extra: Partial<RequestHead> = {}, i: RequestInfo = info): Op => (inst, host) => inst.onRequestHeaders(host, i, head(headers, extra));

describe('fast vs jco: testkit echo', () => {
  it('unicode and empty strings in every field', async () => {
    const p = await pair(TESTKIT, JSON.stringify({ echo: true }));
    const weird: RequestInfo = { requestId: 'ид-🦀-\u00e9', attempt: 7, route: '' };
    const r = await same(p, reqHeaders([['x-é', 'ünï 🎉 中文'], ['x-empty', ''], ['', 'no-name']], { method: '', path: '/ö/ü?q=ß', authority: '' }, weird));
    expect(r.ok).toBe(true);
    await same(p, (inst, host) => inst.onResponseHeaders(host, weird, { status: 204, headers: [['x-ü', '✓'], ['x-e', '']] }));
    await same(p, (inst, host) => inst.onRequestBody(host, weird, new TextEncoder().encode('héllo 🦀'), false));
    await same(p, (inst, host) => inst.onResponseBody(host, weird, new Uint8Array(0), true));
  });

  it('200 headers and large header values', async () => {
    const p = await pair(TESTKIT, JSON.stringify({ echo: true }));
    const many: HeaderList = Array.from({ length: 200 }, (_, i) => [`x-h-${i}`, `value-${i}-${'v'.repeat(i % 37)}`]);
    await same(p, reqHeaders(many));
    const big: HeaderList = [['x-big', 'a'.repeat(64 * 1024)], ['x-big-u', 'ü'.repeat(16 * 1024)]];
    await same(p, reqHeaders(big));
    await same(p, (inst, host) => inst.onResponseHeaders(host, info, { status: 200, headers: many }));
  });

  it('1 MiB bodies both ways', async () => {
    const p = await pair(TESTKIT, JSON.stringify({ echo: true }));
    const body = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) & 0xff);
    await same(p, (inst, host) => inst.onRequestBody(host, info, body, true));
    await same(p, (inst, host) => inst.onResponseBody(host, info, body, false));
  });
});

describe('fast vs jco: decisions', () => {
  it('reject with body and headers', async () => {
    const p = await pair(TESTKIT, JSON.stringify({ name: 'rj', rejectStatus: 429, rejectBody: 'slow down ✋' }));
    const r = await same(p, reqHeaders([['a', 'b']]));
    expect(r).toMatchObject({ ok: true, value: { tag: 'reject' } });
  });

  it('reject if header; continue otherwise with set/remove/upstream mutations', async () => {
    const p = await pair(TESTKIT, JSON.stringify({
      rejectIfHeader: 'x-deny', setRequestHeader: ['x-set', 'yes'], removeRequestHeader: 'x-gone', upstreamFromHeader: 'x-up', order: true,
    }));
    expect(await same(p, reqHeaders([['x-deny', '1']]))).toMatchObject({ ok: true, value: { tag: 'reject' } });
    expect(await same(p, reqHeaders([['x-up', 'pool-b'], ['x-order', 'a']]))).toMatchObject({ ok: true, value: { tag: 'continue' } });
  });

  it('release, body-done and response rejection', async () => {
    const rel = await pair(TESTKIT, JSON.stringify({ requestBody: 'buffer:1000', releaseAt: 10 }));
    // releaseAt keeps earlier chunks in context: one host store per binding, across calls.
    const hf = new RecordingHost();
    const hj = new RecordingHost();
    for (const chunk of ['abcd', 'efgh', 'ijkl']) {
      const bytes = new TextEncoder().encode(chunk);
      const of = await outcome(rel.fast.onRequestBody(hf, info, bytes, false));
      const oj = await outcome(rel.jco.onRequestBody(hj, info, bytes, false));
      expect(of).toEqual(oj);
    }
    expect(plain(hf.calls)).toEqual(plain(hj.calls));
    const done = await pair(TESTKIT, JSON.stringify({ requestBody: 'stream', bodyDoneAfterFirst: true }));
    expect(await same(done, (inst, host) => inst.onRequestBody(host, info, new Uint8Array([1, 2, 3]), false))).toMatchObject({ ok: true, value: { tag: 'body-done' } });
    const rr = await pair(TESTKIT, JSON.stringify({ rejectResponseStatus: 502 }));
    expect(await same(rr, (inst, host) => inst.onResponseHeaders(host, info, { status: 200, headers: [] }))).toMatchObject({ ok: true, value: { tag: 'reject' } });
  });

  it('context round trip and log calls', async () => {
    const p = await pair(TESTKIT, JSON.stringify({ contextCounter: true, logChunks: true, requestBody: 'stream' }));
    await same(p, reqHeaders([]));
    await same(p, (inst, host) => inst.onRequestBody(host, info, new TextEncoder().encode('log me'), true));
  });

  it('header-router in both languages: header, default, body field', async () => {
    const cfg = JSON.stringify({ routes: { 'gpt-4': 'a', 'llama-3': 'c' }, default: 'b', bodyField: 'model' });
    for (const path of [ROUTER_AS, ROUTER_RUST]) {
      const p = await pair(path, cfg);
      await same(p, reqHeaders([['x-model', 'gpt-4']]));
      await same(p, reqHeaders([['x-model', 'unknown-ü']]));
      await same(p, reqHeaders([]));
      await same(p, (inst, host) => inst.onRequestBody(host, info, new TextEncoder().encode('{"model":"llama-3"}'), true));
      await same(p, (inst, host) => inst.onRequestBody(host, info, new TextEncoder().encode('not json'), true));
    }
  });
});

describe('fast vs jco: filter-info', () => {
  const both = { requestHeaders: true, responseHeaders: true };
  const none = { requestHeaders: false, responseHeaders: false };
  const reqOnly = { requestHeaders: true, responseHeaders: false };
  const respOnly = { requestHeaders: false, responseHeaders: true };
  const configure = (config: string): Op => (inst, host) => inst.configure(host, config);

  it('header-hooks flags, every combination, with body modes and name', async () => {
    const p = await pair(TESTKIT, '{}');
    const cases: Array<[unknown, unknown]> = [
      [undefined, both], [['request-headers', 'response-headers'], both], [[], none],
      [['request-headers'], reqOnly], [['response-headers'], respOnly],
    ];
    for (const [hooks, headerHooks] of cases) {
      const cfg = JSON.stringify({ name: 'tk-ü', requestBody: 'buffer:77', responseBody: 'stream', ...(hooks ? { headerHooks: hooks } : {}) });
      expect(await same(p, configure(cfg))).toEqual({
        ok: true,
        value: { ok: true, value: { name: 'tk-ü', requestBody: { tag: 'stream-buffer', maxBytes: 77 }, responseBody: { tag: 'stream' }, headerHooks } },
      });
    }
  });

  it('what each plugin declares is the same on both', async () => {
    const cases: Array<[string, object, object]> = [
      [ROUTER_AS, { routes: {} }, reqOnly],
      [ROUTER_AS, { routes: {}, bodyField: 'model' }, reqOnly],
      [ROUTER_RUST, { routes: {} }, reqOnly],
      [ROUTER_RUST, { routes: {}, bodyField: 'model' }, reqOnly],
      [pluginPath('request-headers'), { serverTiming: true }, both],
      [pluginPath('request-headers'), {}, reqOnly],
      [pluginPath('deny-list'), { patterns: ['x'] }, none],
      [pluginPath('guardrail'), { scannerUrl: 'http://127.0.0.1:1/scan' }, none],
      [pluginPath('semantic-cache'), { cacheUrl: 'http://127.0.0.1:1' }, respOnly],
      [pluginPath('pd-disagg'), { prefill: ['http://127.0.0.1:1'], decodeUpstream: 'decode' }, reqOnly],
    ];
    for (const [path, config, headerHooks] of cases) {
      const p = await pair(path, JSON.stringify(config));
      expect(await same(p, configure(JSON.stringify(config)))).toMatchObject({ ok: true, value: { ok: true, value: { headerHooks } } });
    }
  });
});

describe('fast vs jco: sub-request results from the host', () => {
  const errors: SubrequestError[] = [
    { tag: 'timeout' }, { tag: 'too-large' }, { tag: 'denied', reason: 'not allowed ⛔' }, { tag: 'overloaded' },
    { tag: 'cancelled' }, { tag: 'connect', reason: 'ECONNREFUSED' }, { tag: 'protocol', reason: '' },
  ];
  const okResult = (i: number): SubrequestResult => ({
    ok: true, value: { status: 200 + i, headers: [['x-i', String(i)], ['x-ü', 'ü']], body: new TextEncoder().encode(`body ${i} ✓`) },
  });

  it('every error variant and ok, single', async () => {
    const p = await pair(TESTKIT, JSON.stringify({ subrequestUrlHeader: 'x-sub' }));
    for (const e of errors) {
      const r = await same(p, reqHeaders([['x-sub', 'http://127.0.0.1:1/x']]), () => ({ ok: false, error: e }));
      expect(JSON.stringify(r)).toContain('x-sub-error');
    }
    await same(p, reqHeaders([['x-sub', 'http://127.0.0.1:1/x']]), (_r, i) => okResult(i));
  });

  it('every error variant and ok, fan-out', async () => {
    const p = await pair(TESTKIT, JSON.stringify({ fanoutUrlsHeader: 'x-fan' }));
    const urls = Array.from({ length: 8 }, (_, i) => `http://127.0.0.1:1/${i}`).join(',');
    await same(p, reqHeaders([['x-fan', urls]]), (_r, i) => (i < errors.length ? { ok: false, error: errors[i]! } : okResult(i)));
  });
});

describe('fast vs jco: keyvalue calls', () => {
  // Every call, unicode keys and values, none/some, TTLs, 64-bit deltas, in one script.
  const SCRIPT = [
    'get,,ключ', 'set,,ключ,значение 🦀,1000', 'get,,ключ', 'set,ns,k,v', 'del,,ключ', 'del,,ключ',
    'incr,,n,9223372036854775806', 'incr,,n,1,5', 'incr,,m,-9223372036854775808', 'get,,n',
    'cas,,c,~,a', 'cas,,c,~,b', 'cas,,c,a,b,7', 'get,,c',
  ].join(';');
  const errors: KvError[] = [
    { tag: 'unavailable', reason: 'redis: connection refused' }, { tag: 'limit', reason: 'value too large ⚠' },
    { tag: 'denied', reason: 'namespace "x" is not granted' }, { tag: 'invalid', reason: '' },
  ];
  /** The guest's `x-kv-result` header, split into one outcome per call. */
  const kvResult = (o: Outcome): string[] | undefined => {
    const v = (o as { value?: { mutations?: { setHeaders?: string[][] } } }).value;
    return v?.mutations?.setHeaders?.find(([n]) => n === 'x-kv-result')?.[1]?.split(';');
  };
  const guests = [['testkit (AssemblyScript)', TESTKIT, JSON.stringify({ kvHeader: 'x-kv' })], ['kv-rust', fixturePath('kv-rust'), '{}']] as const;

  for (const [name, path, config] of guests) {
    it(`${name}: every call's ok values`, async () => {
      const p = await pair(path, config);
      const r = await same(p, reqHeaders([['x-kv', SCRIPT]]));
      expect(kvResult(r)).toEqual([
        'none', 'ok', 'some:значение 🦀', 'ok', 'true', 'false',
        '9223372036854775806', '9223372036854775807', '-9223372036854775808', 'some:9223372036854775807',
        'true', 'false', 'true', 'some:b',
      ]);
    });

    it(`${name}: every kv-error variant, on every call`, async () => {
      const p = await pair(path, config);
      for (const e of errors) {
        const r = await same(p, reqHeaders([['x-kv', 'get,,k;set,,k,v;del,,k;incr,,k,1;cas,,k,~,v']]), undefined, e);
        expect(kvResult(r)).toEqual(Array.from({ length: 5 }, () => `err:${e.tag}:${e.reason}`));
      }
    });

    it(`${name}: the clock imports, full 64-bit readings`, async () => {
      const p = await pair(path, config);
      const r = await same(p, reqHeaders([['x-kv', 'clock;clock']]));
      expect(kvResult(r)).toEqual(['1767225600123/4294967338', '1767225600123/4294967338']);
    });
  }
});

describe('fast vs jco: failures', () => {
  it('a trap rejects with GuestTrap on both, and the instance is unusable after', async () => {
    const p = await pair(TESTKIT, JSON.stringify({ trapIfHeader: 'x-trap' }));
    const r = await same(p, reqHeaders([['x-trap', '1']]));
    expect(r).toEqual({ ok: false, trap: true, name: 'GuestTrap' });
    expect(await same(p, reqHeaders([]))).toEqual({ ok: false, trap: true, name: 'GuestTrap' });
  });

  it('the memory ceiling makes both trap', async () => {
    const p = await pair(TESTKIT, JSON.stringify({ allocIfHeader: 'x-alloc' }), 8 * 1024 * 1024);
    expect(await same(p, reqHeaders([['x-alloc', '1']]))).toMatchObject({ ok: true });
    expect(await same(p, reqHeaders([['x-alloc', '64']]))).toEqual({ ok: false, trap: true, name: 'GuestTrap' });
    expect(await same(p, reqHeaders([]))).toEqual({ ok: false, trap: true, name: 'GuestTrap' });
  });

  it('a configure error is the same on both', async () => {
    const p = await pair(TESTKIT, JSON.stringify({ echo: true }));
    await same(p, (inst, host) => inst.configure(host, JSON.stringify({ failConfigure: 'nope ü' })));
  });
});

describe('fast vs jco: generated inputs', () => {
  const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,24}$/);
  const value = fc.oneof(fc.string({ maxLength: 64 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));
  const headers = fc.array(fc.tuple(name, value), { maxLength: 40 });
  const bytes = fc.uint8Array({ maxLength: 4096 });

  it('random header lists and request heads', async () => {
    const p = await pair(TESTKIT, JSON.stringify({ echo: true }));
    await fc.assert(fc.asyncProperty(headers, fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 30 }), fc.nat(1000), async (hs, method, path, attempt) => {
      await same(p, reqHeaders(hs, { method, path }, { requestId: path, attempt, route: method }));
      await same(p, (inst, host) => inst.onResponseHeaders(host, info, { status: 100 + (attempt % 500), headers: hs }));
    }), { numRuns: 60 });
  });

  it('random bodies', async () => {
    const p = await pair(TESTKIT, JSON.stringify({ echo: true }));
    await fc.assert(fc.asyncProperty(bytes, fc.boolean(), async (b, eos) => {
      await same(p, (inst, host) => inst.onRequestBody(host, info, b, eos));
      await same(p, (inst, host) => inst.onResponseBody(host, info, b, eos));
    }), { numRuns: 60 });
  });

  it('random headers through the header-routers', async () => {
    const cfg = JSON.stringify({ routes: { 'gpt-4': 'a' }, default: 'b' });
    const pas = await pair(ROUTER_AS, cfg);
    const prs = await pair(ROUTER_RUST, cfg);
    await fc.assert(fc.asyncProperty(headers, fc.option(fc.oneof(fc.constant('gpt-4'), value)), async (hs, model) => {
      const list: HeaderList = model === null ? hs : [...hs, ['x-model', model]];
      await same(pas, reqHeaders(list));
      await same(prs, reqHeaders(list));
    }), { numRuns: 60 });
  });
});
