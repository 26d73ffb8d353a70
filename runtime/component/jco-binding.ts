/**
 * The general binding: jco transpiles the component into core modules plus JS glue (async
 * instantiation, JSPI for the sub-request imports and the hook exports). Correct for any
 * component of the praxis world, but its per-call glue is costly; see fast-binding.ts.
 *
 * The glue asks the host for its core modules and to instantiate them (`getCoreModule`,
 * `instantiateCore`), so the host compiles each one itself: with the memory ceiling written in
 * and with fuel (fuel.ts). Every core instance's fuel global is collected as it is made, and
 * filled before every hook call: a guest spinning in any of its modules traps instead of
 * stalling the gateway. A component whose modules cannot all carry fuel is refused unless trusted.
 */
import { ComponentLoadError, GuestTrap } from './errors.ts';
import { DEFAULT_FUEL } from './fast-binding.ts';
import { FUEL_EXPORT, MAX_FUEL, withLoopFuel } from './fuel.ts';
import { type GetCoreModule, type InstantiateCore, type Warn, loadGlue } from './jco-glue.ts';
import { type CallState, type JcoFilter, type JcoFilterInfo, buildImports, fromAction, fromFilterInfo } from './jco-world.ts';
import type {
  Action, ComponentFactory, ConfigureResult, FilterInstance, HostCalls, RequestHead, RequestInfo, ResponseHead,
} from './types.ts';
import { type WasiContext, createWasiContext } from './wasi.ts';
import { DEFAULT_TABLE_LIMIT, coreExports, coreModulesOfComponent, withMemoryCeiling, withTableCeiling } from './wasm-binary.ts';
import { CURRENT_VERSION, type WorldVersion, filterExport, versionOfCoreExports } from './world-version.ts';

export interface JcoOptions {
  /** Fuel one hook call (and the start-up of one instance) may burn; default: the fast binding's. */
  fuelBudget?: number;
  /** Ceiling on every table of every core module, in entries (default: the loader's). */
  tableLimit?: number;
  /** How errors name the budget (default `<fuelBudget> fuel units`, as the fast binding says it). */
  budgetLabel?: string;
  /** Run core modules that cannot be instrumented, without a CPU budget (default false: refuse them). */
  trusted?: boolean;
  /** Where cache notices go (default: a process warning). */
  warn?: Warn;
  /** The praxis:filter version the component was built against (default: read from its core exports). */
  version?: WorldVersion;
}

/** The version its guest's canonical filter export names, else the current one. */
function versionOfComponent(component: Uint8Array): WorldVersion {
  return versionOfCoreExports(coreModulesOfComponent(component).flatMap((m) => coreExports(m).map((e) => e.name))) ?? CURRENT_VERSION;
}

export interface JcoComponentFactory extends ComponentFactory {
  /** Why some of the guest's code runs without fuel (only ever set for a trusted component). */
  readonly unboundedLoops?: string;
}

/** The fuel globals of one instance's core instances, and the budget each is filled with. */
class Fuel {
  readonly globals: WebAssembly.Global[] = [];
  readonly budget: number;
  readonly label: string;
  constructor(budget: number, label: string) {
    this.budget = budget;
    this.label = label;
  }
  /** Watches a new core instance: its fuel global is collected and filled at once, bounding whatever the glue runs in it next. */
  adopt(instance: WebAssembly.Instance): void {
    const g = instance.exports[FUEL_EXPORT];
    if (!(g instanceof WebAssembly.Global)) return;
    g.value = this.budget;
    this.globals.push(g);
  }
  fill(): void {
    for (const g of this.globals) g.value = this.budget;
  }
  /** A fuel trap leaves its global below zero; no other trap does. */
  ranOut(): boolean {
    return this.globals.some((g) => (g.value as number) < 0);
  }
}

class JcoFilterInstance implements FilterInstance {
  private readonly filter: JcoFilter;
  private readonly state: CallState;
  private readonly memories: () => number;
  private readonly fuel: Fuel;
  private readonly wasi: WasiContext | undefined;
  private busy = false;
  private broken = false;

  constructor(filter: JcoFilter, state: CallState, memories: () => number, fuel: Fuel, wasi?: WasiContext) {
    this.filter = filter;
    this.state = state;
    this.memories = memories;
    this.fuel = fuel;
    this.wasi = wasi;
  }

  /** Marks the start of a hook call: host calls (and WASI stdout/stderr) act for `host`; fuel is full. */
  private enter(host: HostCalls): void {
    this.busy = true;
    this.state.host = host;
    this.fuel.fill();
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
      if (this.fuel.ranOut()) throw new GuestTrap(`${hook} ran past its CPU budget (${this.fuel.label}) and was stopped`, { cause: err, kind: 'cpu-budget' });
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
      return { ok: true, value: fromFilterInfo(info) };
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

/**
 * Validates, fuels and compiles every core module of the component up front (a component that
 * cannot be run with fuel is refused at load, not at its first instance).
 */
async function compileCores(cores: Map<string, Uint8Array>, maxPages: number, tableLimit: number, budget: number, trusted: boolean): Promise<{ modules: Map<string, WebAssembly.Module>; unfueled: string[] }> {
  const modules = new Map<string, WebAssembly.Module>();
  const unfueled: string[] = [];
  for (const [name, bytes] of cores) {
    // Validate before the instrumenter reads it: it trusts the sizes a valid module declares.
    if (!WebAssembly.validate(bytes as BufferSource)) throw new ComponentLoadError('invalid-module', `the component's core module ${name} is not valid WebAssembly`);
    // The start budget is the global's initial value: a core start function runs before the host can set it.
    const fuel = withLoopFuel(bytes, { startFuel: budget });
    if (!fuel.instrumented) {
      if (!trusted) throw new ComponentLoadError('uninstrumentable', `the component's core module ${name} cannot be given a CPU budget (${fuel.why}); only a plugin marked trusted may run without one`);
      unfueled.push(`${name}: ${fuel.why}`);
    }
    try {
      modules.set(name, await WebAssembly.compile(withTableCeiling(withMemoryCeiling(fuel.module, maxPages), tableLimit) as BufferSource));
    } catch (err) {
      throw new ComponentLoadError('malformed', `the component's core module ${name} does not compile: ${(err as Error).message}`);
    }
  }
  return { modules, unfueled };
}

function processWarning(msg: string): void {
  process.emitWarning(msg, { code: 'PRAXIS_JCO_GLUE' });
}

/**
 * `cacheDir`: where transpiled glue is cached (undefined: glue-cache.ts's private default).
 * `wasi`: the component imports WASI; each instance gets its own restricted WASI (wasi.ts)
 * merged into its imports, its stdout/stderr going to the log of the hook call in flight.
 */
export async function createJcoFactory(
  component: Uint8Array, hash: string, cacheDir: string | undefined, maxPages: number, wasi = false, opts: JcoOptions = {},
): Promise<JcoComponentFactory> {
  const version = opts.version ?? versionOfComponent(component);
  const budget = Math.max(0, Math.min(opts.fuelBudget ?? DEFAULT_FUEL, MAX_FUEL));
  const glue = await loadGlue(component, hash, version, cacheDir, opts.warn ?? processWarning);
  const { modules, unfueled } = await compileCores(glue.cores, maxPages, opts.tableLimit ?? DEFAULT_TABLE_LIMIT, budget, opts.trusted ?? false);
  const getCoreModule: GetCoreModule = async (name) => {
    const m = modules.get(name);
    if (!m) throw new Error(`jco's glue asked for a core module it did not emit: ${name}`);
    return m;
  };
  return {
    binding: 'jco',
    ...(unfueled.length ? { unboundedLoops: `core modules without fuel (trusted): ${unfueled.join('; ')}` } : {}),
    async instantiate(): Promise<FilterInstance> {
      const memories: WebAssembly.Memory[] = [];
      const fuel = new Fuel(budget, opts.budgetLabel ?? `${budget} fuel units`);
      const state: CallState = { host: undefined, fuel: fuel.globals };
      // Watch the core instances jco makes: their memories (the guest's size) and fuel globals.
      const instantiateCore: InstantiateCore = async (module, imports) => {
        const instance = await WebAssembly.instantiate(module, imports);
        for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.push(value);
        fuel.adopt(instance);
        return instance;
      };
      const ctx = wasi ? createWasiContext() : undefined;
      const imports = ctx ? { ...ctx.imports, ...buildImports(state) } : buildImports(state);
      let exports: Record<string, unknown>;
      try {
        exports = await glue.module.instantiate(getCoreModule, imports, instantiateCore);
      } catch (err) {
        if (fuel.ranOut()) throw new GuestTrap(`the component's start-up ran past its CPU budget (${fuel.label}) and was stopped`, { cause: err, kind: 'cpu-budget' });
        throw err;
      }
      const filter = (exports[filterExport(version)] ?? exports.filter) as JcoFilter;
      return new JcoFilterInstance(filter, state, () => memories.reduce((n, m) => n + m.buffer.byteLength, 0), fuel, ctx);
    },
  };
}
