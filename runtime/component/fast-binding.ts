/**
 * The fast binding: calls the component's single core module directly, lifting and lowering
 * the praxis world by hand (praxis-abi.ts) instead of through jco's generic glue. Used when the
 * component is one core module that imports only praxis interfaces, which is what both SDKs
 * produce. Sub-request imports suspend the guest through JSPI; a plugin that never imports
 * them is called synchronously, with no promise machinery per call.
 */
import { GuestTrap } from './errors.ts';
import { GuestMemory, type Realloc } from './guest-memory.ts';
import {
  LOG_LEVELS, SUBREQUEST_RESULT_SIZE, SUBREQUEST_SIZE, liftAction, liftConfigureResult, liftSubrequestAt,
  liftSubrequestFlat, lowerOptionBytes, lowerSubrequestResult,
} from './praxis-abi.ts';
import type {
  Action, ComponentFactory, ConfigureResult, FilterInstance, HostCalls, RequestHead, RequestInfo, ResponseHead,
} from './types.ts';
import type { CoreExport, CoreImport } from './wasm-binary.ts';

const HTTP = 'praxis:filter/http-client@0.1.0';
const CONTEXT = 'praxis:filter/context@0.1.0';
const LOG = 'praxis:filter/log@0.1.0';
const FILTER = 'praxis:filter/filter@0.1.0';
const HOOKS = ['configure', 'on-request-headers', 'on-request-body', 'on-response-headers', 'on-response-body'] as const;
type Hook = (typeof HOOKS)[number];

const ALLOWED_IMPORTS = new Set([`${HTTP}#http-subrequest`, `${HTTP}#http-subrequest-all`, `${CONTEXT}#get`, `${CONTEXT}#set`, `${LOG}#log`]);

/** Why the fast path cannot run this core module, or undefined when it can. */
export function fastPathObstacle(imports: CoreImport[], exports: CoreExport[]): string | undefined {
  for (const i of imports) {
    if (i.kind !== 0 || !ALLOWED_IMPORTS.has(`${i.module}#${i.name}`)) return `imports ${i.module}#${i.name}`;
  }
  const names = new Set(exports.map((e) => e.name));
  const needed = ['memory', 'cabi_realloc', ...HOOKS.flatMap((h) => [`${FILTER}#${h}`, `cabi_post_${FILTER}#${h}`])];
  const missing = needed.filter((n) => !names.has(n));
  return missing.length ? `lacks export ${missing.join(', ')}` : undefined;
}

type ExportFn = (...args: number[]) => number | Promise<number>;
type PostFn = (ptr: number) => void;

/** The import a guest is in the middle of, so host calls reach the right request. */
interface CallState {
  host: HostCalls | undefined;
  mem: GuestMemory | undefined;
}

function currentHost(state: CallState): HostCalls {
  if (!state.host) throw new GuestTrap('host call outside of a hook');
  return state.host;
}

function buildImports(state: CallState): WebAssembly.Imports {
  const mem = (): GuestMemory => state.mem!;
  return {
    [HTTP]: {
      'http-subrequest': new WebAssembly.Suspending(
        async (mp: number, ml: number, up: number, ul: number, hp: number, hl: number, bt: number, bp: number, bl: number, tt: number, tv: number, ret: number) => {
          const req = liftSubrequestFlat(mem(), mp, ml, up, ul, hp, hl, bt, bp, bl, tt, tv);
          const result = await currentHost(state).httpSubrequest(req);
          lowerSubrequestResult(mem(), ret, result);
        },
      ) as unknown as WebAssembly.ImportValue,
      'http-subrequest-all': new WebAssembly.Suspending(async (ptr: number, len: number, ret: number) => {
        const reqs = [];
        for (let i = 0; i < len; i++) reqs.push(liftSubrequestAt(mem(), ptr + i * SUBREQUEST_SIZE));
        const results = await currentHost(state).httpSubrequestAll(reqs);
        const m = mem();
        const out = m.alloc(results.length * SUBREQUEST_RESULT_SIZE, 4);
        results.forEach((r, i) => lowerSubrequestResult(m, out + i * SUBREQUEST_RESULT_SIZE, r));
        m.setPair(ret, [out, results.length]);
      }) as unknown as WebAssembly.ImportValue,
    },
    [CONTEXT]: {
      get: (kp: number, kl: number, ret: number) => {
        lowerOptionBytes(mem(), ret, currentHost(state).contextGet(mem().string(kp, kl)));
      },
      set: (kp: number, kl: number, vp: number, vl: number) => {
        currentHost(state).contextSet(mem().string(kp, kl), mem().bytes(vp, vl));
      },
    },
    [LOG]: {
      log: (level: number, mp: number, ml: number) => {
        const l = LOG_LEVELS[level];
        if (l === undefined) throw new GuestTrap(`invalid log level ${level}`);
        currentHost(state).log(l, mem().string(mp, ml));
      },
    },
  };
}

class FastFilterInstance implements FilterInstance {
  private readonly state: CallState;
  private readonly mem: GuestMemory;
  private readonly fns: Record<Hook, ExportFn>;
  private readonly posts: Record<Hook, PostFn>;
  private busy = false;
  private broken = false;

  constructor(instance: WebAssembly.Instance, state: CallState, suspends: boolean) {
    const ex = instance.exports as Record<string, unknown>;
    this.state = state;
    this.mem = new GuestMemory(ex.memory as WebAssembly.Memory, ex.cabi_realloc as Realloc);
    state.mem = this.mem;
    const fns = {} as Record<Hook, ExportFn>;
    const posts = {} as Record<Hook, PostFn>;
    for (const h of HOOKS) {
      const fn = ex[`${FILTER}#${h}`] as (...a: number[]) => number;
      fns[h] = suspends ? (WebAssembly.promising(fn) as ExportFn) : fn;
      posts[h] = ex[`cabi_post_${FILTER}#${h}`] as PostFn;
    }
    this.fns = fns;
    this.posts = posts;
  }

  memoryBytes(): number {
    return this.mem.byteLength;
  }

  /** Runs one export: lower (inside `lower`), call, lift, post-return. Any failure breaks the instance. */
  private async run<T>(host: HostCalls, hook: Hook, lower: (m: GuestMemory) => number[], lift: (m: GuestMemory, p: number) => T): Promise<T> {
    if (this.broken) throw new GuestTrap('instance is broken by an earlier trap');
    if (this.busy) throw new GuestTrap('instance re-entered while a call is in flight');
    this.busy = true;
    this.state.host = host;
    try {
      const args = lower(this.mem);
      const ptr = await this.fns[hook](...args);
      const value = lift(this.mem, ptr);
      this.posts[hook](ptr);
      return value;
    } catch (err) {
      this.broken = true;
      if (err instanceof GuestTrap) throw err;
      throw new GuestTrap(`${hook} trapped: ${(err as Error).message}`, { cause: err });
    } finally {
      this.busy = false;
      this.state.host = undefined;
    }
  }

  configure(host: HostCalls, config: string): Promise<ConfigureResult> {
    return this.run(host, 'configure', (m) => m.putString(config), liftConfigureResult);
  }

  onRequestHeaders(host: HostCalls, info: RequestInfo, head: RequestHead): Promise<Action> {
    return this.run(host, 'on-request-headers', (m) => [
      ...lowerInfo(m, info), ...m.putString(head.method), ...m.putString(head.path),
      ...m.putString(head.authority), ...m.putHeaders(head.headers),
    ], liftAction);
  }

  onRequestBody(host: HostCalls, info: RequestInfo, chunk: Uint8Array, endOfStream: boolean): Promise<Action> {
    return this.run(host, 'on-request-body', (m) => [...lowerInfo(m, info), ...m.putBytes(chunk), endOfStream ? 1 : 0], liftAction);
  }

  onResponseHeaders(host: HostCalls, info: RequestInfo, head: ResponseHead): Promise<Action> {
    return this.run(host, 'on-response-headers', (m) => [...lowerInfo(m, info), head.status, ...m.putHeaders(head.headers)], liftAction);
  }

  onResponseBody(host: HostCalls, info: RequestInfo, chunk: Uint8Array, endOfStream: boolean): Promise<Action> {
    return this.run(host, 'on-response-body', (m) => [...lowerInfo(m, info), ...m.putBytes(chunk), endOfStream ? 1 : 0], liftAction);
  }
}

function lowerInfo(m: GuestMemory, info: RequestInfo): [number, number, number, number, number] {
  const [ip, il] = m.putString(info.requestId);
  const [rp, rl] = m.putString(info.route);
  return [ip, il, info.attempt >>> 0, rp, rl];
}

export class FastComponentFactory implements ComponentFactory {
  readonly binding = 'fast' as const;
  private readonly module: WebAssembly.Module;
  private readonly suspends: boolean;

  constructor(module: WebAssembly.Module, imports: CoreImport[]) {
    this.module = module;
    this.suspends = imports.some((i) => i.module === HTTP);
  }

  async instantiate(): Promise<FilterInstance> {
    const state: CallState = { host: undefined, mem: undefined };
    const instance = await WebAssembly.instantiate(this.module, buildImports(state));
    const init = (instance.exports as Record<string, unknown>)._initialize;
    if (typeof init === 'function') (init as () => void)();
    return new FastFilterInstance(instance, state, this.suspends);
  }
}
