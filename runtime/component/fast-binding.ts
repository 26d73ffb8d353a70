/**
 * The fast binding: calls the component's single core module directly, lifting and lowering
 * the praxis world by hand (praxis-abi.ts) instead of through jco's generic glue. Used when the
 * component is one core module that imports only praxis interfaces, which is what both SDKs
 * produce. Sub-request imports suspend the guest through JSPI; a hook that cannot reach them
 * (reachability.ts: a call-graph walk over the module's code, conservative on any doubt) is
 * called synchronously, with no promise machinery per call.
 */
import { GuestTrap } from './errors.ts';
import { HOST_CALL_FUEL, LOG_FUEL, SUBREQUEST_FUEL, bytesFuel, chargeFuel } from './host-fuel.ts';
import { DEFAULT_LIFT_BUDGET, GuestMemory, type Realloc } from './guest-memory.ts';
import {
  LOG_LEVELS, SUBREQUEST_RESULT_SIZE, SUBREQUEST_SIZE, liftAction, liftConfigureResult, liftSubrequestAt,
  liftSubrequestFlat, lowerOptionBytes, lowerSubrequestResult,
} from './praxis-abi.ts';
import type {
  Action, ComponentFactory, ConfigureResult, FilterInstance, HostCalls, RequestHead, RequestInfo, ResponseHead, Subrequest,
} from './types.ts';
import { exportsReaching, importedFunctionIndices } from './reachability.ts';
import { type CoreExport, type CoreImport, WASM_PAGE, coreExports } from './wasm-binary.ts';
import { CURRENT_VERSION, type WorldVersion, filterExport, hasInterface, interfaceName, versionOfCoreExports } from './world-version.ts';
import { keyvalueImports } from './fast-keyvalue.ts';
import { CLOCK_FUNCS, clockImports } from './fast-clock.ts';
import { FUEL_EXPORT, MAX_FUEL } from './fuel.ts';

const HOOKS = ['configure', 'on-request-headers', 'on-request-body', 'on-response-headers', 'on-response-body'] as const;
type Hook = (typeof HOOKS)[number];
const KV_FUNCS = ['get', 'set', 'delete', 'increment', 'compare-and-swap'];

/** The core imports the fast binding supplies to a guest of `version` (`module#name`). */
function allowedImports(version: WorldVersion): Set<string> {
  const http = interfaceName('http-client', version);
  const context = interfaceName('context', version);
  const out = [`${http}#http-subrequest`, `${http}#http-subrequest-all`, `${context}#get`, `${context}#set`, `${interfaceName('log', version)}#log`];
  if (hasInterface(version, 'keyvalue')) out.push(...KV_FUNCS.map((f) => `${interfaceName('keyvalue', version)}#${f}`));
  if (hasInterface(version, 'clock')) out.push(...CLOCK_FUNCS.map((f) => `${interfaceName('clock', version)}#${f}`));
  return new Set(out);
}

/** The imports that suspend the guest: sub-requests, and every store call. */
function suspendingModules(version: WorldVersion): Set<string> {
  const out = new Set([interfaceName('http-client', version)]);
  if (hasInterface(version, 'keyvalue')) out.add(interfaceName('keyvalue', version));
  return out;
}

/** Why the fast path cannot run this core module, or undefined when it can. */
export function fastPathObstacle(imports: CoreImport[], exports: CoreExport[]): string | undefined {
  const version = versionOfCoreExports(exports.map((e) => e.name));
  if (!version) return 'lacks a praxis:filter/filter#configure export of a version this host runs';
  const allowed = allowedImports(version);
  for (const i of imports) {
    if (i.kind !== 0 || !allowed.has(`${i.module}#${i.name}`)) return `imports ${i.module}#${i.name}`;
  }
  const names = new Set(exports.map((e) => e.name));
  const FILTER = filterExport(version);
  const needed = ['memory', 'cabi_realloc', ...HOOKS.flatMap((h) => [`${FILTER}#${h}`, `cabi_post_${FILTER}#${h}`])];
  const missing = needed.filter((n) => !names.has(n));
  return missing.length ? `lacks export ${missing.join(', ')}` : undefined;
}

type ExportFn = (...args: number[]) => number;
type PostFn = (ptr: number) => void;
type Lift<T> = (m: GuestMemory, p: number) => T;

/** The import a guest is in the middle of, so host calls reach the right request. */
interface CallState {
  host: HostCalls | undefined;
  mem: GuestMemory | undefined;
  /** The instance's fuel global (one element; none when the module carries no fuel): imports charge it. */
  fuel: WebAssembly.Global[];
}

function currentHost(state: CallState): HostCalls {
  if (!state.host) throw new GuestTrap('host call outside of a hook');
  return state.host;
}

/** The guest's memory at the start of an import call: the guest ran since the host last looked. */
function memOf(state: CallState): GuestMemory {
  const m = state.mem!;
  m.sync();
  return m;
}

function buildImports(state: CallState, version: WorldVersion): WebAssembly.Imports {
  const imports: WebAssembly.Imports = {
    [interfaceName('http-client', version)]: {
      'http-subrequest': new WebAssembly.Suspending(
        async (mp: number, ml: number, up: number, ul: number, hp: number, hl: number, bt: number, bp: number, bl: number, tt: number, tv: number, ret: number) => {
          // Charged once lifted: the lift has checked the lengths against the guest's memory.
          const req = liftSubrequestFlat(memOf(state), mp, ml, up, ul, hp, hl, bt, bp, bl, tt, tv);
          chargeFuel(state.fuel, SUBREQUEST_FUEL + bytesFuel(req.url.length + (req.body?.byteLength ?? 0)));
          const result = await currentHost(state).httpSubrequest(req);
          lowerSubrequestResult(memOf(state), ret, result);
        },
      ) as unknown as WebAssembly.ImportValue,
      'http-subrequest-all': new WebAssembly.Suspending(async (ptr: number, len: number, ret: number) => {
        const m0 = memOf(state);
        const n = len >>> 0;
        const at = m0.list(ptr, n, SUBREQUEST_SIZE); // checked and charged before the array exists
        // All of them up front: a call with 10,000 requests traps before any is sent.
        chargeFuel(state.fuel, n * SUBREQUEST_FUEL);
        const reqs = new Array<Subrequest>(n);
        for (let i = 0; i < n; i++) reqs[i] = liftSubrequestAt(m0, at + i * SUBREQUEST_SIZE);
        const results = await currentHost(state).httpSubrequestAll(reqs);
        const m = memOf(state);
        const out = m.alloc(results.length * SUBREQUEST_RESULT_SIZE, 4);
        for (let i = 0; i < results.length; i++) lowerSubrequestResult(m, out + i * SUBREQUEST_RESULT_SIZE, results[i]!);
        m.setPair(ret, out, results.length);
      }) as unknown as WebAssembly.ImportValue,
    },
    [interfaceName('context', version)]: {
      get: (kp: number, kl: number, ret: number) => {
        const m = memOf(state);
        const key = m.string(kp, kl);
        chargeFuel(state.fuel, HOST_CALL_FUEL + bytesFuel(kl));
        lowerOptionBytes(m, ret, currentHost(state).contextGet(key));
      },
      set: (kp: number, kl: number, vp: number, vl: number) => {
        const m = memOf(state);
        const key = m.string(kp, kl);
        const value = m.bytes(vp, vl);
        chargeFuel(state.fuel, HOST_CALL_FUEL + bytesFuel(kl + value.byteLength));
        currentHost(state).contextSet(key, value);
      },
    },
    [interfaceName('log', version)]: {
      log: (level: number, mp: number, ml: number) => {
        const l = LOG_LEVELS[level];
        if (l === undefined) throw new GuestTrap(`invalid log level ${level}`);
        const msg = memOf(state).string(mp, ml);
        chargeFuel(state.fuel, LOG_FUEL + bytesFuel(ml));
        currentHost(state).log(l, msg);
      },
    },
  };
  if (hasInterface(version, 'keyvalue')) {
    imports[interfaceName('keyvalue', version)] = keyvalueImports({
      memory: () => memOf(state),
      host: () => currentHost(state),
      charge: (units) => chargeFuel(state.fuel, units),
    });
  }
  if (hasInterface(version, 'clock')) {
    imports[interfaceName('clock', version)] = clockImports(() => currentHost(state), (units) => chargeFuel(state.fuel, units));
  }
  return imports;
}

const BROKEN = 'instance is broken by an earlier trap';
/** Fuel per hook call (fuel.ts: about one unit per instruction) when the loader names none. */
export const DEFAULT_FUEL = 100_000_000;

/** What one call may spend, and how to tell the kind of a failure afterwards. */
export interface CallLimits {
  /** Fuel units per hook call, `_initialize` included (see fuel.ts). */
  fuelBudget: number;
  /** The budget as the operator configured it, for messages (e.g. "50 ms"). */
  budgetLabel: string;
  /** Bytes one hook call may hand the host (see GuestMemory). */
  liftBudget: number;
  /** The most the guest's memory can grow to: a trap with the memory there counts as 'memory'. */
  memoryCeilingBytes: number;
}
const REENTERED = 'instance re-entered while a call is in flight';

/**
 * Per hook (in HOOKS order), whether its export may reach a suspending import and so must be
 * called through `promising`. A module that imports none suspends nowhere; otherwise the call
 * graph decides, and an export the analysis does not answer for counts as suspending.
 */
export function suspendingHooks(core: Uint8Array, imports: CoreImport[]): boolean[] {
  const version = versionOfCoreExports(coreExports(core).map((e) => e.name)) ?? CURRENT_VERSION;
  const targets = importedFunctionIndices(imports, suspendingModules(version));
  if (targets.size === 0) return HOOKS.map(() => false);
  const { mayReach } = exportsReaching(core, targets);
  const FILTER = filterExport(version);
  return HOOKS.map((h) => mayReach.get(`${FILTER}#${h}`) ?? true);
}

/**
 * One instance. Each hook lowers its arguments straight into the export's parameters (no
 * argument arrays, no spreads, no per-call closures), calls the export, lifts the result and
 * runs post-return. A hook that cannot suspend is called synchronously and its result handed
 * back in an already-settled promise; one that may goes through `promising`, and the
 * completion handlers are bound once per instance.
 */
class FastFilterInstance implements FilterInstance {
  private readonly state: CallState;
  private readonly mem: GuestMemory;
  /** Per hook (index into HOOKS): called through `promising`. */
  private readonly suspends: readonly boolean[];
  private readonly fConfigure: ExportFn;
  private readonly fReqHeaders: ExportFn;
  private readonly fReqBody: ExportFn;
  private readonly fRespHeaders: ExportFn;
  private readonly fRespBody: ExportFn;
  private readonly posts: PostFn[];
  private busy = false;
  private broken = false;
  /** The hook in flight (index into HOOKS) and how to lift its result: read by the completion handlers. */
  private hook = 0;
  private lift: Lift<unknown> = liftAction;
  private readonly onDone: (ptr: number) => unknown;
  private readonly onFail: (err: unknown) => never;
  /** The loop-fuel global written in by fuel.ts (absent when the module could not be instrumented). */
  private readonly fuel: WebAssembly.Global | undefined;
  private readonly fuelBudget: number;
  private readonly limits: CallLimits;

  constructor(instance: WebAssembly.Instance, state: CallState, suspends: readonly boolean[], limits: CallLimits, version: WorldVersion) {
    const FILTER = filterExport(version);
    const ex = instance.exports as Record<string, unknown>;
    this.fuel = ex[FUEL_EXPORT] instanceof WebAssembly.Global ? ex[FUEL_EXPORT] : undefined;
    this.fuelBudget = limits.fuelBudget;
    this.limits = limits;
    this.state = state;
    this.suspends = suspends;
    this.mem = new GuestMemory(ex.memory as WebAssembly.Memory, ex.cabi_realloc as Realloc, limits.liftBudget);
    state.mem = this.mem;
    if (this.fuel) state.fuel.push(this.fuel);
    const fn = (h: Hook): ExportFn => {
      const f = ex[`${FILTER}#${h}`] as ExportFn;
      return suspends[HOOKS.indexOf(h)] ? (WebAssembly.promising(f) as unknown as ExportFn) : f;
    };
    this.fConfigure = fn('configure');
    this.fReqHeaders = fn('on-request-headers');
    this.fReqBody = fn('on-request-body');
    this.fRespHeaders = fn('on-response-headers');
    this.fRespBody = fn('on-response-body');
    this.posts = HOOKS.map((h) => ex[`cabi_post_${FILTER}#${h}`] as PostFn);
    this.onDone = (ptr: number) => {
      try {
        return this.finish(ptr);
      } catch (err) {
        return this.fail(err);
      }
    };
    this.onFail = (err: unknown) => this.fail(err);
  }

  memoryBytes(): number {
    return this.mem.byteLength;
  }

  /** Checks and marks the instance busy; answers the refusal, if any. */
  private enter(host: HostCalls, hook: number, lift: Lift<unknown>): GuestTrap | undefined {
    if (this.broken) return new GuestTrap(BROKEN);
    if (this.busy) return new GuestTrap(REENTERED);
    this.busy = true;
    this.state.host = host;
    this.mem.beginCall();
    if (this.fuel) this.fuel.value = this.fuelBudget;
    this.hook = hook;
    this.lift = lift;
    return undefined;
  }

  private leave(): void {
    this.busy = false;
    this.state.host = undefined;
  }

  private finish(ptr: number): unknown {
    const m = this.mem;
    m.sync();
    const value = this.lift(m, ptr);
    this.posts[this.hook]!(ptr);
    this.leave();
    return value;
  }

  private fail(err: unknown): never {
    this.broken = true;
    this.leave();
    if (err instanceof GuestTrap) throw err;
    throw trapOf(`${HOOKS[this.hook]}`, err, this.fuel, this.limits, this.mem.byteLength);
  }

  /** request-info's two strings, lowered by `lowerInfo`: fields, so no array per call. */
  private ip = 0;
  private il = 0;
  private rp = 0;
  private rl = 0;

  /** Every hook but configure starts with request-info: request-id, attempt, route. */
  private lowerInfo(m: GuestMemory, info: RequestInfo): void {
    this.ip = m.putString(info.requestId);
    this.il = m.len;
    this.rp = m.putString(info.route);
    this.rl = m.len;
  }

  /** Completes a call whose export has been invoked (`r` is its result or its promise). */
  private complete<T>(r: number | Promise<number>): Promise<T> {
    if (this.suspends[this.hook]) return (r as Promise<number>).then(this.onDone, this.onFail) as Promise<T>;
    return Promise.resolve(this.finish(r as number) as T);
  }

  /** A failure while lowering or in a synchronous call. */
  private rejected<T>(err: unknown): Promise<T> {
    try {
      this.fail(err);
    } catch (trap) {
      return Promise.reject(trap);
    }
  }

  configure(host: HostCalls, config: string): Promise<ConfigureResult> {
    const refusal = this.enter(host, 0, liftConfigureResult);
    if (refusal) return Promise.reject(refusal);
    try {
      const m = this.mem;
      const cp = m.putString(config);
      return this.complete(this.fConfigure(cp, m.len));
    } catch (err) {
      return this.rejected(err);
    }
  }

  onRequestHeaders(host: HostCalls, info: RequestInfo, head: RequestHead): Promise<Action> {
    const refusal = this.enter(host, 1, liftAction);
    if (refusal) return Promise.reject(refusal);
    try {
      const m = this.mem;
      this.lowerInfo(m, info);
      const mp = m.putString(head.method);
      const ml = m.len;
      const pp = m.putString(head.path);
      const pl = m.len;
      const ap = m.putString(head.authority);
      const al = m.len;
      const hp = m.putHeaders(head.headers);
      return this.complete(this.fReqHeaders(this.ip, this.il, info.attempt >>> 0, this.rp, this.rl, mp, ml, pp, pl, ap, al, hp, m.len));
    } catch (err) {
      return this.rejected(err);
    }
  }

  onRequestBody(host: HostCalls, info: RequestInfo, chunk: Uint8Array, endOfStream: boolean): Promise<Action> {
    return this.bodyHook(2, this.fReqBody, host, info, chunk, endOfStream);
  }

  onResponseHeaders(host: HostCalls, info: RequestInfo, head: ResponseHead): Promise<Action> {
    const refusal = this.enter(host, 3, liftAction);
    if (refusal) return Promise.reject(refusal);
    try {
      const m = this.mem;
      this.lowerInfo(m, info);
      const hp = m.putHeaders(head.headers);
      return this.complete(this.fRespHeaders(this.ip, this.il, info.attempt >>> 0, this.rp, this.rl, head.status, hp, m.len));
    } catch (err) {
      return this.rejected(err);
    }
  }

  onResponseBody(host: HostCalls, info: RequestInfo, chunk: Uint8Array, endOfStream: boolean): Promise<Action> {
    return this.bodyHook(4, this.fRespBody, host, info, chunk, endOfStream);
  }

  /** Both body hooks share one flattened signature: info (5), chunk (2), end-of-stream. */
  private bodyHook(hook: 2 | 4, fn: ExportFn, host: HostCalls, info: RequestInfo, chunk: Uint8Array, endOfStream: boolean): Promise<Action> {
    const refusal = this.enter(host, hook, liftAction);
    if (refusal) return Promise.reject(refusal);
    try {
      const m = this.mem;
      this.lowerInfo(m, info);
      const cp = m.putBytes(chunk);
      return this.complete(fn(this.ip, this.il, info.attempt >>> 0, this.rp, this.rl, cp, m.len, endOfStream ? 1 : 0));
    } catch (err) {
      return this.rejected(err);
    }
  }
}

/**
 * The GuestTrap for a call that threw: 'cpu-budget' when the fuel global is below zero (only a
 * fuel check leaves it there), 'memory' when the guest's memory cannot grow by one more page
 * (an allocation failed at the ceiling, and the guest gave up), else a plain 'trap'.
 */
function trapOf(what: string, err: unknown, fuel: WebAssembly.Global | undefined, limits: CallLimits, memoryBytes: number): GuestTrap {
  if (fuel && (fuel.value as number) < 0) {
    return new GuestTrap(`${what} ran past its CPU budget (${limits.budgetLabel}) and was stopped`, { cause: err, kind: 'cpu-budget' });
  }
  const message = `${what} trapped: ${(err as Error).message}`;
  if (memoryBytes + WASM_PAGE > limits.memoryCeilingBytes) {
    return new GuestTrap(`${message} (its memory is at the ceiling of ${limits.memoryCeilingBytes} bytes)`, { cause: err, kind: 'memory' });
  }
  return new GuestTrap(message, { cause: err });
}

export class FastComponentFactory implements ComponentFactory {
  readonly binding = 'fast' as const;
  private readonly module: WebAssembly.Module;
  /** Per hook: whether it may suspend (see `suspendingHooks`). */
  readonly suspends: readonly boolean[];
  readonly limits: CallLimits;
  /** The world version the module was built against (its filter export names it). */
  readonly version: WorldVersion;

  /** `module` carries fuel (fuel.ts) and its ceilings already; `limits` defaults to what the loader uses by default. */
  constructor(module: WebAssembly.Module, suspends: readonly boolean[], limits: Partial<CallLimits> = {}) {
    this.module = module;
    this.suspends = suspends;
    this.version = versionOfCoreExports(WebAssembly.Module.exports(module).map((e) => e.name)) ?? CURRENT_VERSION;
    const fuelBudget = Math.max(1, Math.min(limits.fuelBudget ?? DEFAULT_FUEL, MAX_FUEL));
    this.limits = {
      fuelBudget,
      budgetLabel: limits.budgetLabel ?? `${fuelBudget} fuel units`,
      liftBudget: limits.liftBudget ?? DEFAULT_LIFT_BUDGET,
      memoryCeilingBytes: limits.memoryCeilingBytes ?? Number.POSITIVE_INFINITY, // unknown: never says 'memory'
    };
  }

  get fuelBudget(): number {
    return this.limits.fuelBudget;
  }

  async instantiate(): Promise<FilterInstance> {
    const state: CallState = { host: undefined, mem: undefined, fuel: [] };
    // A start function runs in here, on the fuel the module was instrumented with (fuel.ts).
    const instance = await WebAssembly.instantiate(this.module, buildImports(state, this.version));
    const ex = instance.exports as Record<string, unknown>;
    const init = ex._initialize;
    if (typeof init === 'function') {
      const fuel = ex[FUEL_EXPORT] instanceof WebAssembly.Global ? ex[FUEL_EXPORT] : undefined;
      if (fuel) fuel.value = this.limits.fuelBudget;
      try {
        (init as () => void)();
      } catch (err) {
        throw trapOf('_initialize', err, fuel, this.limits, (ex.memory as WebAssembly.Memory).buffer.byteLength);
      }
    }
    return new FastFilterInstance(instance, state, this.suspends, this.limits, this.version);
  }
}
