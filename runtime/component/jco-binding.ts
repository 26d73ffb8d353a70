/**
 * The general binding: jco transpiles the component into core modules plus JS glue (async
 * instantiation, JSPI for the sub-request imports and the hook exports). Correct for any
 * component of the praxis world, but its per-call glue is costly; see fast-binding.ts.
 * Transpiled output is cached on disk by the component's hash; compiled core modules are
 * cached in memory, each with the memory ceiling written in.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transpile } from '@bytecodealliance/jco';
import { GuestTrap } from './errors.ts';
import type {
  Action, BodyMode, ComponentFactory, ConfigureResult, FilterInstance, HeaderList, HostCalls, LogLevel, Mutations,
  RequestHead, RequestInfo, ResponseHead, Subrequest, SubrequestError, SubrequestResult,
} from './types.ts';
import { type WasiContext, createWasiContext } from './wasi.ts';
import { withMemoryCeiling } from './wasm-binary.ts';

const HOOKS = ['configure', 'on-request-headers', 'on-request-body', 'on-response-headers', 'on-response-body'];

// ---- shapes of jco's JS values for the praxis world ----
type JcoVariant<T extends string, V = undefined> = { tag: T; val: V };
interface JcoMutations { setHeaders: HeaderList; removeHeaders: string[]; body?: Uint8Array; upstream?: string }
type JcoAction =
  | JcoVariant<'continue', JcoMutations | undefined>
  | JcoVariant<'reject', { status: number; headers: HeaderList; body?: Uint8Array }>
  | JcoVariant<'release'>
  | JcoVariant<'body-done'>;
type JcoBodyMode = JcoVariant<'none'> | JcoVariant<'stream'> | JcoVariant<'stream-buffer', number>;
/** jco lifts `flags` as an object of booleans, one per flag, camelCase. */
interface JcoHeaderHooks { requestHeaders: boolean; responseHeaders: boolean }
interface JcoFilterInfo { name: string; requestBody: JcoBodyMode; responseBody: JcoBodyMode; headerHooks: JcoHeaderHooks }
interface JcoFilter {
  configure(config: string): JcoFilterInfo | Promise<JcoFilterInfo>;
  onRequestHeaders(info: RequestInfo, head: RequestHead): JcoAction | Promise<JcoAction>;
  onRequestBody(info: RequestInfo, chunk: Uint8Array, eos: boolean): JcoAction | Promise<JcoAction>;
  onResponseHeaders(info: RequestInfo, head: ResponseHead): JcoAction | Promise<JcoAction>;
  onResponseBody(info: RequestInfo, chunk: Uint8Array, eos: boolean): JcoAction | Promise<JcoAction>;
}
type JcoSubrequestError = { tag: SubrequestError['tag']; val?: string };
type GetCoreModule = (name: string) => Promise<WebAssembly.Module>;
interface JcoModule {
  instantiate(
    getCoreModule: GetCoreModule,
    imports: Record<string, unknown>,
    instantiateCore: (module: WebAssembly.Module, imports: WebAssembly.Imports) => Promise<WebAssembly.Instance>,
  ): Promise<Record<string, unknown>>;
}

/** jco's import functions return the ok value of a result and throw `{ payload }` for its error. */
class ResultError extends Error {
  readonly payload: unknown;
  constructor(payload: unknown) {
    super('subrequest error');
    this.payload = payload;
  }
}

function toJcoError(e: SubrequestError): JcoSubrequestError {
  return 'reason' in e ? { tag: e.tag, val: e.reason } : { tag: e.tag };
}

function toJcoResult(r: SubrequestResult): JcoVariant<'ok', unknown> | JcoVariant<'err', JcoSubrequestError> {
  return r.ok ? { tag: 'ok', val: r.value } : { tag: 'err', val: toJcoError(r.error) };
}

function fromBodyMode(m: JcoBodyMode): BodyMode {
  return m.tag === 'stream-buffer' ? { tag: 'stream-buffer', maxBytes: m.val } : { tag: m.tag };
}

function fromMutations(m: JcoMutations): Mutations {
  const out: Mutations = { setHeaders: m.setHeaders, removeHeaders: m.removeHeaders };
  if (m.body !== undefined) out.body = m.body;
  if (m.upstream !== undefined) out.upstream = m.upstream;
  return out;
}

function fromAction(a: JcoAction): Action {
  switch (a.tag) {
    case 'continue': return a.val === undefined ? { tag: 'continue' } : { tag: 'continue', mutations: fromMutations(a.val) };
    case 'reject': {
      const { status, headers, body } = a.val;
      return { tag: 'reject', rejection: body === undefined ? { status, headers } : { status, headers, body } };
    }
    default: return { tag: a.tag };
  }
}

function toJcoSubrequestInput(req: { method: string; url: string; headers: HeaderList; body?: Uint8Array; timeoutMs?: number }): Subrequest {
  const out: Subrequest = { method: req.method, url: req.url, headers: req.headers };
  if (req.body !== undefined) out.body = req.body;
  if (req.timeoutMs !== undefined) out.timeoutMs = req.timeoutMs;
  return out;
}

interface CallState { host: HostCalls | undefined }

function hostOf(state: CallState): HostCalls {
  if (!state.host) throw new Error('host call outside of a hook');
  return state.host;
}

function buildImports(state: CallState): Record<string, unknown> {
  return {
    'praxis:filter/http-client': {
      httpSubrequest: async (req: Subrequest) => {
        const r = await hostOf(state).httpSubrequest(toJcoSubrequestInput(req));
        if (r.ok) return r.value;
        throw new ResultError(toJcoError(r.error));
      },
      httpSubrequestAll: async (reqs: Subrequest[]) =>
        (await hostOf(state).httpSubrequestAll(reqs.map(toJcoSubrequestInput))).map(toJcoResult),
    },
    'praxis:filter/context': {
      get: (key: string) => hostOf(state).contextGet(key),
      set: (key: string, value: Uint8Array) => hostOf(state).contextSet(key, value),
    },
    'praxis:filter/log': { log: (level: LogLevel, msg: string) => hostOf(state).log(level, msg) },
    'praxis:filter/types': {},
  };
}

class JcoFilterInstance implements FilterInstance {
  private readonly filter: JcoFilter;
  private readonly state: CallState;
  private readonly memories: () => number;
  private readonly wasi: WasiContext | undefined;
  private busy = false;
  private broken = false;

  constructor(filter: JcoFilter, state: CallState, memories: () => number, wasi?: WasiContext) {
    this.filter = filter;
    this.state = state;
    this.memories = memories;
    this.wasi = wasi;
  }

  /** Marks the start of a hook call: host calls (and WASI stdout/stderr) act for `host`. */
  private enter(host: HostCalls): void {
    this.busy = true;
    this.state.host = host;
    this.wasi?.begin((level, msg) => host.log(level, msg));
  }

  private leave(): void {
    this.wasi?.end();
    this.busy = false;
    this.state.host = undefined;
  }

  memoryBytes(): number {
    return this.memories();
  }

  private async run<T>(host: HostCalls, hook: string, call: () => T | Promise<T>): Promise<T> {
    if (this.broken) throw new GuestTrap('instance is broken by an earlier trap');
    if (this.busy) throw new GuestTrap('instance re-entered while a call is in flight');
    this.enter(host);
    try {
      return await call();
    } catch (err) {
      this.broken = true;
      throw new GuestTrap(`${hook} trapped: ${(err as Error).message}`, { cause: err });
    } finally {
      this.leave();
    }
  }

  configure(host: HostCalls, config: string): Promise<ConfigureResult> {
    return this.run(host, 'configure', async (): Promise<ConfigureResult> => {
      let info: JcoFilterInfo;
      try {
        info = await this.filter.configure(config);
      } catch (err) {
        // jco throws a ComponentError carrying the `err` case's string as `payload`: an answer, not a trap.
        if (err && typeof err === 'object' && 'payload' in err && typeof err.payload === 'string') return { ok: false, error: err.payload };
        throw err;
      }
      return {
        ok: true,
        value: {
          name: info.name,
          requestBody: fromBodyMode(info.requestBody),
          responseBody: fromBodyMode(info.responseBody),
          headerHooks: { requestHeaders: info.headerHooks.requestHeaders, responseHeaders: info.headerHooks.responseHeaders },
        },
      };
    });
  }

  async onRequestHeaders(host: HostCalls, info: RequestInfo, head: RequestHead): Promise<Action> {
    return fromAction(await this.run(host, 'on-request-headers', () => this.filter.onRequestHeaders(info, head)));
  }
  async onRequestBody(host: HostCalls, info: RequestInfo, chunk: Uint8Array, eos: boolean): Promise<Action> {
    return fromAction(await this.run(host, 'on-request-body', () => this.filter.onRequestBody(info, chunk, eos)));
  }
  async onResponseHeaders(host: HostCalls, info: RequestInfo, head: ResponseHead): Promise<Action> {
    return fromAction(await this.run(host, 'on-response-headers', () => this.filter.onResponseHeaders(info, head)));
  }
  async onResponseBody(host: HostCalls, info: RequestInfo, chunk: Uint8Array, eos: boolean): Promise<Action> {
    return fromAction(await this.run(host, 'on-response-body', () => this.filter.onResponseBody(info, chunk, eos)));
  }
}

/** Transpiles (or reuses the cached transpile of) a component; returns the glue's directory. */
async function transpiled(component: Uint8Array, hash: string, cacheDir: string): Promise<string> {
  const dir = join(cacheDir, `jco-${hash}`);
  if (existsSync(join(dir, 'plugin.js'))) return dir;
  const out = await transpile(component, {
    name: 'plugin',
    instantiation: 'async',
    asyncMode: 'jspi',
    asyncImports: ['praxis:filter/http-client@0.1.0#http-subrequest', 'praxis:filter/http-client@0.1.0#http-subrequest-all'],
    asyncExports: HOOKS.map((h) => `praxis:filter/filter@0.1.0#${h}`),
    noTypescript: true,
    quiet: true,
  });
  // Write into a fresh folder, then rename: a concurrent loader never sees half the files.
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, 'package.json'), '{"type":"module"}\n');
  for (const [name, bytes] of Object.entries(out.files)) {
    if (!name.endsWith('.js') && !name.endsWith('.wasm')) continue;
    await mkdir(dirname(join(tmp, name)), { recursive: true });
    await writeFile(join(tmp, name), bytes);
  }
  try {
    await rename(tmp, dir);
  } catch {
    // Another loader won the race; its copy is identical.
  }
  return dir;
}

/**
 * `wasi`: the component imports WASI; each instance gets its own restricted WASI (wasi.ts)
 * merged into its imports, its stdout/stderr going to the log of the hook call in flight.
 */
export async function createJcoFactory(component: Uint8Array, hash: string, cacheDir: string, maxPages: number, wasi = false): Promise<ComponentFactory> {
  const dir = await transpiled(component, hash, cacheDir);
  const glue = (await import(pathToFileURL(join(dir, 'plugin.js')).href)) as JcoModule;
  const modules = new Map<string, Promise<WebAssembly.Module>>();
  const getCoreModule: GetCoreModule = (name) => {
    let m = modules.get(name);
    if (!m) {
      m = readFile(join(dir, name)).then((bytes) => WebAssembly.compile(withMemoryCeiling(bytes, maxPages) as BufferSource));
      modules.set(name, m);
    }
    return m;
  };
  return {
    binding: 'jco',
    async instantiate(): Promise<FilterInstance> {
      const state: CallState = { host: undefined };
      const memories: WebAssembly.Memory[] = [];
      // Watch the core instances jco makes, to report the guest's memory size.
      const instantiateCore = async (module: WebAssembly.Module, imports: WebAssembly.Imports) => {
        const instance = await WebAssembly.instantiate(module, imports);
        for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.push(value);
        return instance;
      };
      const ctx = wasi ? createWasiContext() : undefined;
      const imports = ctx ? { ...ctx.imports, ...buildImports(state) } : buildImports(state);
      const exports = await glue.instantiate(getCoreModule, imports, instantiateCore);
      const filter = (exports['praxis:filter/filter@0.1.0'] ?? exports.filter) as JcoFilter;
      return new JcoFilterInstance(filter, state, () => memories.reduce((n, m) => n + m.buffer.byteLength, 0), ctx);
    },
  };
}
