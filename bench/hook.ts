/**
 * Per-hook cost: one on-request-headers call on one instance, for each binding, against the raw
 * floor on the same core module (a trivial hand-lowered call: the same strings copied in with
 * one cabi_realloc each, the export called through JSPI `promising` (and directly, when the
 * hook cannot reach a suspending import), the action tag read, post-return). For a module with a
 * suspending import, `fast-all-promising` is the fast binding as it was before the per-hook
 * reachability analysis: every hook through `promising`. The variants run interleaved in short
 * batches so that a noisy machine affects them alike.
 */
import { readFileSync } from 'node:fs';
import { FastComponentFactory, suspendingHooks } from '../runtime/component/fast-binding.ts';
import { DEFAULT_MEMORY_LIMIT, loadComponent } from '../runtime/component/loader.ts';
import type { FilterInstance, HeaderList, HostCalls, RequestHead, RequestInfo } from '../runtime/component/types.ts';
import { WASM_PAGE, coreExports, coreImports, coreModulesOfComponent, withMemoryCeiling } from '../runtime/component/wasm-binary.ts';
import { type Scenario, summarize } from './stats.ts';
import { noKeyValue } from '../runtime/keyvalue/no-store.ts';
import { systemClockCalls } from '../runtime/component/host-clock.ts';

const FILTER = 'praxis:filter/filter@0.2.0';

export const noopHost: HostCalls = {
  httpSubrequest: async () => ({ ok: false, error: { tag: 'denied', reason: 'bench' } }),
  httpSubrequestAll: async (reqs) => reqs.map(() => ({ ok: false as const, error: { tag: 'denied' as const, reason: 'bench' } })),
  contextGet: () => undefined,
  contextSet: () => {},
  ...noKeyValue('none in this bench'), ...systemClockCalls,
  log: () => {},
};

export const benchInfo: RequestInfo = { requestId: 'req-0123456789abcdef', attempt: 1, route: 'default' };
export const benchHead: RequestHead = {
  method: 'POST',
  path: '/v1/chat/completions',
  authority: '127.0.0.1:8080',
  headers: [
    ['host', '127.0.0.1:8080'], ['user-agent', 'bench/1.0'], ['accept', '*/*'], ['content-type', 'application/json'],
    ['content-length', '42'], ['x-model', 'gpt-4'], ['x-request-id', 'abc-123'], ['authorization', 'Bearer token-1234567890'],
  ],
};

type Call = () => Promise<unknown> | unknown;

/** A core-level call that does the least the ABI allows: the floor the bindings are compared with. */
function mainCore(componentPath: string): Uint8Array {
  return coreModulesOfComponent(new Uint8Array(readFileSync(componentPath)))
    .find((m) => coreExports(m).some((e) => e.name === `${FILTER}#configure`))!;
}

async function rawFloor(componentPath: string, config: string): Promise<{ jspi: Call; sync?: Call }> {
  const core = mainCore(componentPath);
  const imports = coreImports(core);
  // configure and on-request-headers are what the floor calls: sync only if neither may suspend.
  const [cfgSuspends, rhSuspends] = suspendingHooks(core, imports);
  const suspends = cfgSuspends! || rhSuspends!;
  const module = await WebAssembly.compile(core as BufferSource);
  const make = async (): Promise<WebAssembly.Instance> => {
    const noop = (): void => {};
    const susp = new WebAssembly.Suspending(async () => {}) as unknown as WebAssembly.ImportValue;
    const inst = await WebAssembly.instantiate(module, {
      'praxis:filter/http-client@0.2.0': { 'http-subrequest': susp, 'http-subrequest-all': susp },
      'praxis:filter/context@0.2.0': {
        get: (_k: number, _l: number, ret: number) => { new Uint8Array((inst.exports.memory as WebAssembly.Memory).buffer)[ret] = 0; },
        set: noop,
      },
      'praxis:filter/log@0.2.0': { log: noop },
      // Never called by the floor's hooks; present because a filter of 0.2.0 may import them.
      'praxis:filter/keyvalue@0.2.0': { get: susp, set: susp, delete: susp, increment: susp, 'compare-and-swap': susp },
      'praxis:filter/clock@0.2.0': { 'now-ms': () => 0n, 'monotonic-ms': () => 0n },
    });
    const init = inst.exports._initialize;
    if (typeof init === 'function') (init as () => void)();
    return inst;
  };
  const enc = new TextEncoder();
  const h = benchHead;
  const strs = [benchInfo.requestId, benchInfo.route, h.method, h.path, h.authority].map((s) => enc.encode(s));
  const hdrs = h.headers.map(([n, v]) => [enc.encode(n), enc.encode(v)] as const);

  const build = (inst: WebAssembly.Instance, wrap: boolean): Call => {
    const ex = inst.exports as Record<string, unknown>;
    const memory = ex.memory as WebAssembly.Memory;
    const realloc = ex.cabi_realloc as (a: number, b: number, c: number, d: number) => number;
    let u8 = new Uint8Array(memory.buffer);
    let view = new DataView(memory.buffer);
    const put = (b: Uint8Array): number => {
      const p = realloc(0, 0, 1, b.length);
      if (u8.length === 0) { u8 = new Uint8Array(memory.buffer); view = new DataView(memory.buffer); }
      u8.set(b, p);
      return p;
    };
    // configure with the same config, hand-lowered.
    const cfg = enc.encode(config);
    const configure = ex[`${FILTER}#configure`] as (p: number, l: number) => number;
    const post0 = ex[`cabi_post_${FILTER}#configure`] as (p: number) => void;
    const [s0, s1, s2, s3, s4] = strs as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const lowerAndCall = (fn: (...a: number[]) => unknown): unknown => {
      const a0 = put(s0); const a1 = put(s1); const a2 = put(s2); const a3 = put(s3); const a4 = put(s4);
      const hp = realloc(0, 0, 4, hdrs.length * 16);
      for (let i = 0; i < hdrs.length; i++) {
        const h = hdrs[i]!;
        const np = put(h[0]);
        const vp = put(h[1]);
        const v = view;
        v.setUint32(hp + i * 16, np, true); v.setUint32(hp + i * 16 + 4, h[0].length, true);
        v.setUint32(hp + i * 16 + 8, vp, true); v.setUint32(hp + i * 16 + 12, h[1].length, true);
      }
      return fn(a0, s0.length, 1, a1, s1.length, a2, s2.length, a3, s3.length, a4, s4.length, hp, hdrs.length);
    };
    const rawRh = ex[`${FILTER}#on-request-headers`] as (...a: number[]) => number;
    const post = ex[`cabi_post_${FILTER}#on-request-headers`] as (p: number) => void;
    if (wrap) {
      const cfgCall = WebAssembly.promising(configure);
      const rh = WebAssembly.promising(rawRh);
      void (async () => { const p = put(cfg); const r = await cfgCall(p, cfg.length); post0(r); })();
      return async () => {
        const r = (await lowerAndCall(rh as (...a: number[]) => unknown)) as number;
        if (u8.length === 0) u8 = new Uint8Array(memory.buffer);
        const tag = u8[r];
        post(r);
        return tag;
      };
    }
    const p = put(cfg);
    post0(configure(p, cfg.length));
    return () => {
      const r = lowerAndCall(rawRh) as number;
      if (u8.length === 0) u8 = new Uint8Array(memory.buffer);
        const tag = u8[r];
      post(r);
      return tag;
    };
  };
  const jspi = build(await make(), true);
  await new Promise((r) => setTimeout(r, 10));
  return suspends ? { jspi } : { jspi, sync: build(await make(), false) };
}

async function bindingCall(componentPath: string, config: string, binding: 'fast' | 'jco'): Promise<Call> {
  const loaded = await loadComponent(componentPath, { binding });
  const inst: FilterInstance = await loaded.factory.instantiate();
  const r = await inst.configure(noopHost, config);
  if (!r.ok) throw new Error(`configure failed: ${r.error}`);
  return () => inst.onRequestHeaders(noopHost, benchInfo, benchHead);
}

/** The fast binding with every hook through `promising`, as before the reachability analysis. */
async function allPromisingCall(componentPath: string, config: string): Promise<Call | undefined> {
  const core = mainCore(componentPath);
  if (!coreImports(core).some((i) => i.module === 'praxis:filter/http-client@0.2.0')) return undefined;
  const module = await WebAssembly.compile(withMemoryCeiling(core, Math.floor(DEFAULT_MEMORY_LIMIT / WASM_PAGE)) as BufferSource);
  const inst = await new FastComponentFactory(module, [true, true, true, true, true]).instantiate();
  const r = await inst.configure(noopHost, config);
  if (!r.ok) throw new Error(`configure failed: ${r.error}`);
  return () => inst.onRequestHeaders(noopHost, benchInfo, benchHead);
}

/** Runs the variants interleaved: `rounds` rounds of `batch` calls each, per-call times kept. */
export async function interleave(variants: Record<string, Call>, rounds: number, batch: number): Promise<Record<string, Scenario>> {
  const names = Object.keys(variants);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const busy: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const n of names) for (let i = 0; i < batch * 5; i++) await variants[n]!(); // warm up (tier-up)
  for (let r = 0; r < rounds; r++) {
    for (const n of names) {
      const f = variants[n]!;
      const s = samples[n]!;
      const t0 = performance.now();
      for (let i = 0; i < batch; i++) {
        const a = performance.now();
        await f();
        s.push((performance.now() - a) * 1000);
      }
      busy[n]! += performance.now() - t0;
    }
  }
  const out: Record<string, Scenario> = {};
  for (const n of names) out[n] = summarize(samples[n]!, (samples[n]!.length / busy[n]!) * 1000);
  return out;
}

export interface HookTarget { label: string; path: string; config: string }

export async function benchHooks(targets: HookTarget[], rounds: number, batch: number): Promise<Record<string, Scenario>> {
  const out: Record<string, Scenario> = {};
  for (const t of targets) {
    const floor = await rawFloor(t.path, t.config);
    const variants: Record<string, Call> = { 'floor-jspi': floor.jspi };
    if (floor.sync) variants['floor-sync'] = floor.sync;
    variants.fast = await bindingCall(t.path, t.config, 'fast');
    const before = await allPromisingCall(t.path, t.config);
    if (before) variants['fast-all-promising'] = before;
    variants.jco = await bindingCall(t.path, t.config, 'jco');
    const res = await interleave(variants, rounds, batch);
    for (const [k, v] of Object.entries(res)) out[`hook/${t.label}/${k}`] = v;
  }
  return out;
}

export type { HeaderList };
