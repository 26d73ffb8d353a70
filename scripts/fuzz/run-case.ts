/**
 * One fuzz case, in the process that runs it: build the mutant, load it, and if it loads,
 * instantiate, configure and call on-request-headers once against a host whose every call
 * answers at once. The outcome is classified; anything that is not one of the typed refusals
 * the gateway turns into a clean load failure or a 500 is `unexpected` (a finding).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ComponentLoadError, GuestTrap } from '../../runtime/component/errors.ts';
import { type LoadedComponent, loadComponent } from '../../runtime/component/loader.ts';
import type { HostCalls, SubrequestResult } from '../../runtime/component/types.ts';
import { RewrapRefused, mutantOf } from './mutate.ts';
import { noKeyValue } from '../../runtime/keyvalue/no-store.ts';
import { systemClockCalls } from '../../runtime/component/host-clock.ts';

export interface FuzzTarget { label: string; path: string; config: string }

export interface CaseReport {
  index: number;
  target: string;
  what: string;
  /** `kind` or `kind:detail`, e.g. `load-error:malformed`, `trap:cpu-budget`, `ok:continue`. */
  outcome: string;
  /** The message of an unexpected error. */
  detail?: string;
  ms: number;
  /** Peak resident set size of the running process during this case (bytes). */
  peakRss: number;
  /** Resident memory of the child at rest before its first case (set by the supervisor). */
  baseRss?: number;
}

/** Outcomes that mean "refused cleanly"; their detail is free. */
export const EXPECTED_KINDS = new Set(['ok', 'load-error', 'configure-refused', 'trap', 'engine-refused', 'rewrap-refused']);

const reply: SubrequestResult = { ok: true, value: { status: 200, headers: [['content-type', 'text/plain']], body: new TextEncoder().encode('ok') } };
const host: HostCalls = {
  httpSubrequest: async () => reply,
  httpSubrequestAll: async (reqs) => reqs.map(() => reply),
  contextGet: () => undefined,
  contextSet: () => {},
  ...noKeyValue('none in the fuzzer'), ...systemClockCalls,
  log: () => {},
};
const head = {
  method: 'POST', path: '/v1/chat/completions', authority: 'gw.local',
  headers: [['content-type', 'application/json'], ['x-model', 'gpt-4'], ['x-request-id', 'fuzz']] as Array<[string, string]>,
};

/** Peak RSS since the last reset (VmHWM); resetting needs Linux's clear_refs, else it is the process peak. */
function peakRss(reset: boolean): number {
  try {
    if (reset) writeFileSync('/proc/self/clear_refs', '5');
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : process.memoryUsage.rss();
  } catch {
    return process.memoryUsage.rss();
  }
}

const isEngineError = (e: unknown): e is Error =>
  e instanceof WebAssembly.CompileError || e instanceof WebAssembly.LinkError || e instanceof WebAssembly.RuntimeError;

function unexpected(phase: string, err: unknown): { outcome: string; detail: string } {
  const e = err as Error;
  return { outcome: `unexpected:${phase}:${e?.name ?? typeof err}`, detail: String(e?.stack ?? e).split('\n').slice(0, 4).join(' | ') };
}

async function exercise(bytes: Uint8Array, target: FuzzTarget, cacheDir: string): Promise<{ outcome: string; detail?: string }> {
  let loaded: LoadedComponent;
  try {
    loaded = await loadComponent(bytes, { cacheDir, maxLoopIterations: 10_000_000 });
  } catch (err) {
    if (err instanceof ComponentLoadError) return { outcome: `load-error:${err.code}` };
    return unexpected('load', err);
  }
  const phase = async <T>(name: string, call: () => Promise<T>): Promise<T | { outcome: string; detail?: string }> => {
    try {
      return await call();
    } catch (err) {
      if (err instanceof GuestTrap) return { outcome: `trap:${err.kind}` };
      if (name === 'instantiate' && isEngineError(err)) return { outcome: `engine-refused:${err.name}` };
      return unexpected(name, err);
    }
  };
  const instance = await phase('instantiate', () => loaded.factory.instantiate());
  if ('outcome' in instance) return instance;
  const cfg = await phase('configure', () => instance.configure(host, target.config));
  if ('outcome' in cfg) return cfg;
  if (!cfg.ok) return { outcome: 'configure-refused' };
  const action = await phase('hook', () => instance.onRequestHeaders(host, { requestId: 'fuzz', attempt: 1, route: 'r' }, head));
  if ('outcome' in action) return action;
  return { outcome: `ok:${action.tag}` };
}

/** Runs case `index` of run `seed`; `originals` holds each target's unmutated bytes. */
export async function runCase(seed: number, index: number, targets: FuzzTarget[], originals: Uint8Array[], cacheDir: string, started: (target: string, what: string) => void): Promise<CaseReport> {
  peakRss(true);
  const t0 = performance.now();
  let result: { outcome: string; detail?: string };
  let target = '?';
  let what = '?';
  try {
    const m = await mutantOf(seed, index, targets.map((t, i) => ({ label: t.label, bytes: originals[i]! })));
    target = m.target;
    what = m.what;
    started(target, what);
    result = await exercise(m.bytes, targets.find((t) => t.label === m.target)!, cacheDir);
  } catch (err) {
    if (err instanceof RewrapRefused) {
      target = err.target;
      what = err.what;
      result = { outcome: 'rewrap-refused' };
    } else {
      result = unexpected('mutate', err);
    }
  }
  return { index, target, what, ...result, ms: Math.round(performance.now() - t0), peakRss: peakRss(false) };
}
