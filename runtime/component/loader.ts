/**
 * Loads a praxis filter component: read, pin-check, validate that it is a component of the
 * praxis:filter world, pick a binding (the fast path when the component is what the SDKs
 * produce, else the jco glue), compile once per (content hash, memory ceiling).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { componentWit } from '@bytecodealliance/jco';
import { ComponentLoadError } from './errors.ts';
import { FastComponentFactory, fastPathObstacle, suspendingHooks } from './fast-binding.ts';
import { createJcoFactory } from './jco-binding.ts';
import type { ComponentFactory } from './types.ts';
import { WASI_INTERFACES, isAllowedWasiImport } from './wasi.ts';
import {
  DEFAULT_TABLE_LIMIT, WASM_PAGE, allCoreModules, binaryKind, coreExports, coreImports, coreModulesOfComponent, withMemoryCeiling, withTableCeiling,
} from './wasm-binary.ts';
import { FUEL_EXPORT, MAX_FUEL, withLoopFuel } from './fuel.ts';
import { DEFAULT_CPU_BUDGET_MS, fuelForCpuBudget } from './cpu-budget.ts';
import {
  CURRENT_VERSION, WORLD_VERSIONS, type WorldVersion, filterExport, hasInterface, isWorldVersion, parsePraxisName,
} from './world-version.ts';

/** The filter export of the world the SDKs build now; checkWorld accepts every version of WORLD_VERSIONS. */
export const FILTER_EXPORT = filterExport(CURRENT_VERSION);
export const DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024;
export { DEFAULT_TABLE_LIMIT };

export interface LoadOptions {
  /** Ceiling of the guest's linear memory, in bytes (default 64 MiB). */
  memoryLimitBytes?: number;
  /** Where the jco path's transpiled glue is cached (default: a private per-user directory, see glue-cache.ts). */
  cacheDir?: string;
  /** 'auto' (default) takes the fast path when it can. */
  binding?: 'auto' | 'fast' | 'jco';
  /** Hex sha256 the file must have. */
  sha256?: string;
  /** CPU time one hook call may take, in ms (default 50), turned into fuel by this process's calibration (cpu-budget.ts). */
  cpuBudgetMs?: number;
  /** Fuel units per hook call (about one per instruction), overriding `cpuBudgetMs`: a budget that does not depend on the machine. */
  maxLoopIterations?: number;
  /** Let code the fuel instrumentation cannot read run without a CPU bound (default false: refuse it). */
  trusted?: boolean;
  /** Ceiling of every table the guest defines, in entries (default 10,000). */
  tableLimit?: number;
}

export interface LoadedComponent {
  factory: ComponentFactory;
  sha256: string;
  bytes: number;
  /** The component's world, as WIT text. */
  wit: string;
  /** The praxis:filter version it was built against. */
  version: WorldVersion;
  /** Why the fast path was not taken, when it was not. */
  fastPathObstacle?: string;
  /** Why some of the guest's code runs without fuel (only ever for a trusted plugin). */
  unboundedLoops?: string;
}

/**
 * Before any tool reads the component: its structure is walked reading only section headers
 * (each size checked against the bytes left), and every core module in it, nested components
 * included, must pass `WebAssembly.validate`. Tools that trust size fields (jco's componentWit)
 * can be made to allocate gigabytes by one corrupt byte; V8's validator rejects it in microseconds.
 */
function admit(bytes: Uint8Array): void {
  allCoreModules(bytes).forEach((m, i) => {
    if (!WebAssembly.validate(m as BufferSource)) {
      throw new ComponentLoadError('invalid-module', `core module ${i} of the component is not valid WebAssembly: ${validationError(m)}`);
    }
    if (coreExports(m).some((e) => e.name === FUEL_EXPORT)) {
      throw new ComponentLoadError('reserved-export', `core module ${i} of the component exports "${FUEL_EXPORT}", a name the host reserves for its fuel global`);
    }
  });
}

/** V8's reason for refusing a module it has already refused once (it stops at the first error). */
function validationError(m: Uint8Array): string {
  try {
    new WebAssembly.Module(m as BufferSource);
  } catch (err) {
    return (err as Error).message.replace(/^WebAssembly\.Module\(\): /, '');
  }
  return 'refused by WebAssembly.validate';
}

/** Fuel per hook call, and how to name it in messages: an explicit count, else the CPU budget in ms. */
async function callBudget(opts: LoadOptions): Promise<{ fuel: number; label: string }> {
  if (opts.maxLoopIterations !== undefined) {
    const fuel = Math.min(opts.maxLoopIterations, MAX_FUEL);
    return { fuel, label: `${fuel} fuel units` };
  }
  const ms = opts.cpuBudgetMs ?? DEFAULT_CPU_BUDGET_MS;
  const fuel = await fuelForCpuBudget(ms);
  return { fuel, label: `${ms} ms, ${fuel} fuel units` };
}

/** The guest module as it will run: fuel unless trusted and uninstrumentable, then the ceilings. */
function prepareCore(core: Uint8Array, fuel: number, trusted: boolean, maxPages: number, tableLimit: number): { code: Uint8Array; unboundedLoops?: string } {
  const fueled = withLoopFuel(core, { startFuel: fuel });
  if (!fueled.instrumented && !trusted) {
    throw new ComponentLoadError('uninstrumentable', `the guest's code cannot be given a CPU budget (${fueled.why}); only a plugin marked trusted may run without one`);
  }
  const code = withTableCeiling(withMemoryCeiling(fueled.module, maxPages), tableLimit);
  return fueled.instrumented ? { code } : { code, unboundedLoops: `its code could not be instrumented (${fueled.why})` };
}

/** Compiled guest modules by (hash, memory ceiling), with what the loop instrumentation said. */
const compiled = new Map<string, { module: Promise<WebAssembly.Module>; unboundedLoops?: string }>();
/** Per content hash: which hooks may suspend (the call-graph walk runs once per component). */
const suspending = new Map<string, boolean[]>();

async function readSource(source: string | Uint8Array): Promise<Uint8Array> {
  if (typeof source !== 'string') return source;
  try {
    return new Uint8Array(await readFile(source));
  } catch (err) {
    throw new ComponentLoadError('io', `cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The WIT lines naming what a component imports and exports. */
function worldItems(wit: string, kind: 'import' | 'export'): string[] {
  const re = new RegExp(`^\\s*${kind}\\s+([^;{]+?)\\s*[;{]`, 'gm');
  return [...wit.matchAll(re)].map((m) => m[1]!.replace(/:\s*(func|interface).*$/, '').trim());
}

const RUNS = `this host runs praxis:filter ${WORLD_VERSIONS.join(', ')}`;

/** The version of the world's filter export: exactly one, of a version this host runs. */
function exportedVersion(exports: string[]): WorldVersion {
  const filters = exports.filter((e) => parsePraxisName(e)?.name === 'filter');
  if (filters.length === 0) {
    throw new ComponentLoadError('wrong-world', `the component does not export ${FILTER_EXPORT} (it exports: ${exports.join(', ') || 'nothing'}); build it against wit/praxis.wit, world plugin`);
  }
  if (filters.length > 1) throw new ComponentLoadError('wrong-world', `the component exports ${filters.join(' and ')}; a component implements one version of the filter`);
  const version = parsePraxisName(filters[0]!)!.version;
  if (!isWorldVersion(version)) {
    throw new ComponentLoadError('unsupported-version', `the component exports ${filters[0]}, a version this host does not run (${RUNS}); build it with an SDK of one of those versions`);
  }
  return version;
}

/** The world's WIT and its version; every praxis import must be an interface of that same version. */
export async function checkWorld(bytes: Uint8Array): Promise<{ wit: string; version: WorldVersion }> {
  let wit: string;
  try {
    wit = await componentWit(bytes);
  } catch (err) {
    throw new ComponentLoadError('malformed', `not a valid component: ${String((err as Error).message ?? err).split('\n')[0]}`);
  }
  const version = exportedVersion(worldItems(wit, 'export'));
  const imports = worldItems(wit, 'import');
  const praxis = imports.filter((i) => i.startsWith('praxis:'));
  const mismatched = praxis.filter((i) => {
    const p = parsePraxisName(i);
    return !p || p.version !== version || p.name === 'filter' || !hasInterface(version, p.name);
  });
  if (mismatched.length) {
    const unknown = mismatched.map(parsePraxisName).find((p) => p !== undefined && !isWorldVersion(p.version));
    const which = unknown ? `praxis:filter@${unknown.version} is a version this host does not run (${RUNS}); ` : '';
    throw new ComponentLoadError(unknown ? 'unsupported-version' : 'forbidden-import', `the component imports ${mismatched.join(', ')}; ${which}a praxis:filter@${version} filter may import only the praxis:filter@${version} interfaces of docs/wit.md`);
  }
  const foreign = imports.filter((i) => !i.startsWith('praxis:') && !isAllowedWasiImport(i));
  if (foreign.length) {
    const why = foreign.map((i) => WASI_INTERFACES[`${i.replace(/\/.*$/, '')}/*`]?.reason).filter((r) => r !== undefined);
    throw new ComponentLoadError('forbidden-import', `the component imports ${foreign.join(', ')}; a praxis filter may import only praxis:filter@${version} interfaces and the restricted WASI 0.2 of docs/wit.md${why.length ? ` (${[...new Set(why)].join('; ')})` : ''}`);
  }
  return { wit, version };
}

/** Whether the world imports any WASI interface (those components take the jco path with the restricted WASI). */
function importsWasi(wit: string): boolean {
  return worldItems(wit, 'import').some((i) => i.startsWith('wasi:'));
}

/**
 * wit-component adds two tiny modules beside the guest's own when an import returns through
 * memory: a shim (no imports; exports a table `$imports` and trampolines named 0, 1, ...) and a
 * fixup that fills that table. The fast binding supplies the imports itself, so those two are
 * only recognised and skipped; anything else sends the component down the jco path.
 */
function isWitComponentShim(m: Uint8Array): boolean {
  const imports = coreImports(m);
  const exports = coreExports(m);
  if (imports.length === 0) return exports.every((e) => /^\d+$/.test(e.name) || e.name === '$imports');
  return exports.length === 0 && imports.every((i) => i.module === 'actual' || i.module === 'shim');
}

function mainCoreModule(cores: Uint8Array[], version: WorldVersion): { core?: Uint8Array; obstacle?: string } {
  const configure = `${filterExport(version)}#configure`;
  const mains = cores.filter((m) => coreExports(m).some((e) => e.name === configure));
  if (mains.length !== 1) return { obstacle: `has ${mains.length} core modules exporting ${configure} by its canonical name` };
  const others = cores.filter((m) => m !== mains[0]);
  if (!others.every(isWitComponentShim)) return { obstacle: 'has core modules besides the guest and wit-component\'s import shims' };
  const obstacle = fastPathObstacle(coreImports(mains[0]!), coreExports(mains[0]!));
  return obstacle ? { obstacle } : { core: mains[0]! };
}

export async function loadComponent(source: string | Uint8Array, opts: LoadOptions = {}): Promise<LoadedComponent> {
  const bytes = await readSource(source);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (opts.sha256 && opts.sha256.toLowerCase() !== sha256) {
    throw new ComponentLoadError('io', `sha256 mismatch: expected ${opts.sha256.toLowerCase()}, the file has ${sha256}`);
  }
  if (binaryKind(bytes) === 'core-module') {
    throw new ComponentLoadError('core-module', 'this is a core WebAssembly module, not a component: build it with `praxis-wasm build`, which embeds the praxis WIT');
  }
  admit(bytes);
  const { wit, version } = await checkWorld(bytes);

  const limit = opts.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT;
  const maxPages = Math.max(1, Math.floor(limit / WASM_PAGE));
  const { core, obstacle } = mainCoreModule(coreModulesOfComponent(bytes), version);
  const binding = opts.binding ?? 'auto';
  if (binding === 'fast' && obstacle) throw new ComponentLoadError('unsupported', `the fast binding cannot run this component: it ${obstacle}`);

  const budget = await callBudget(opts);
  const trusted = opts.trusted ?? false;
  const tableLimit = opts.tableLimit ?? DEFAULT_TABLE_LIMIT;
  let factory: ComponentFactory;
  let unboundedLoops: string | undefined;
  if (binding !== 'jco' && !obstacle && core) {
    // The fuel is part of the key: it is also the start function's budget, written into the module.
    const key = `${sha256}:${maxPages}:${tableLimit}:${budget.fuel}:${trusted}`;
    let entry = compiled.get(key);
    if (!entry) {
      const prepared = prepareCore(core, budget.fuel, trusted, maxPages, tableLimit);
      const module = WebAssembly.compile(prepared.code as BufferSource);
      entry = { module, ...(prepared.unboundedLoops ? { unboundedLoops: prepared.unboundedLoops } : {}) };
      compiled.set(key, entry);
      module.catch(() => compiled.delete(key));
    }
    const { module } = entry;
    if (entry.unboundedLoops) unboundedLoops = entry.unboundedLoops;
    try {
      let hooks = suspending.get(sha256);
      if (!hooks) {
        hooks = suspendingHooks(core, coreImports(core));
        suspending.set(sha256, hooks);
      }
      // Each hook call may lift at most the guest's own memory ceiling into host memory.
      factory = new FastComponentFactory(await module, hooks, {
        fuelBudget: budget.fuel, budgetLabel: budget.label, liftBudget: maxPages * WASM_PAGE, memoryCeilingBytes: maxPages * WASM_PAGE,
      });
    } catch (err) {
      throw new ComponentLoadError('malformed', `the component's core module does not compile: ${(err as Error).message}`);
    }
  } else {
    const jco = await createJcoFactory(bytes, sha256, opts.cacheDir, maxPages, importsWasi(wit), { version, fuelBudget: budget.fuel, budgetLabel: budget.label, trusted, tableLimit });
    factory = jco;
    if (jco.unboundedLoops) unboundedLoops = jco.unboundedLoops;
  }
  const loaded: LoadedComponent = { factory, sha256, bytes: bytes.length, wit, version };
  if (obstacle) loaded.fastPathObstacle = obstacle;
  if (unboundedLoops) loaded.unboundedLoops = unboundedLoops;
  return loaded;
}
