/**
 * Loads a praxis filter component: read, pin-check, validate that it is a component of the
 * praxis:filter world, pick a binding (the fast path when the component is what the SDKs
 * produce, else the jco glue), compile once per (content hash, memory ceiling).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { componentWit } from '@bytecodealliance/jco';
import { ComponentLoadError } from './errors.ts';
import { FastComponentFactory, fastPathObstacle, suspendingHooks } from './fast-binding.ts';
import { createJcoFactory } from './jco-binding.ts';
import type { ComponentFactory } from './types.ts';
import { WASI_INTERFACES, isAllowedWasiImport } from './wasi.ts';
import { WASM_PAGE, binaryKind, coreExports, coreImports, coreModulesOfComponent, sections, withMemoryCeiling } from './wasm-binary.ts';
import { withLoopFuel } from './fuel.ts';

export const FILTER_EXPORT = 'praxis:filter/filter@0.1.0';
export const DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024;

export interface LoadOptions {
  /** Ceiling of the guest's linear memory, in bytes (default 64 MiB). */
  memoryLimitBytes?: number;
  /** Where transpiled glue is cached (default: the OS temp dir). */
  cacheDir?: string;
  /** 'auto' (default) takes the fast path when it can. */
  binding?: 'auto' | 'fast' | 'jco';
  /** Hex sha256 the file must have. */
  sha256?: string;
  /** Loop iterations one hook call may run before it is stopped (fast binding; default 100 million). */
  maxLoopIterations?: number;
}

export interface LoadedComponent {
  factory: ComponentFactory;
  sha256: string;
  bytes: number;
  /** The component's world, as WIT text. */
  wit: string;
  /** Why the fast path was not taken, when it was not. */
  fastPathObstacle?: string;
  /** Why the guest's loops carry no fuel (a module the decoder cannot read, or the jco path). */
  unboundedLoops?: string;
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

export async function checkWorld(bytes: Uint8Array): Promise<string> {
  let wit: string;
  try {
    wit = await componentWit(bytes);
  } catch (err) {
    throw new ComponentLoadError('malformed', `not a valid component: ${String((err as Error).message ?? err).split('\n')[0]}`);
  }
  const exports = worldItems(wit, 'export');
  if (!exports.includes(FILTER_EXPORT)) {
    throw new ComponentLoadError('wrong-world', `the component does not export ${FILTER_EXPORT} (it exports: ${exports.join(', ') || 'nothing'}); build it against wit/praxis.wit, world plugin`);
  }
  const foreign = worldItems(wit, 'import').filter((i) => !(i.startsWith('praxis:filter/') && i.endsWith('@0.1.0')) && !isAllowedWasiImport(i));
  if (foreign.length) {
    const why = foreign.map((i) => WASI_INTERFACES[`${i.replace(/\/.*$/, '')}/*`]?.reason).filter((r) => r !== undefined);
    throw new ComponentLoadError('forbidden-import', `the component imports ${foreign.join(', ')}; a praxis filter may import only praxis:filter@0.1.0 interfaces and the restricted WASI 0.2 of docs/wit.md${why.length ? ` (${[...new Set(why)].join('; ')})` : ''}`);
  }
  return wit;
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

function mainCoreModule(cores: Uint8Array[]): { core?: Uint8Array; obstacle?: string } {
  const mains = cores.filter((m) => coreExports(m).some((e) => e.name === `${FILTER_EXPORT}#configure`));
  if (mains.length !== 1) return { obstacle: `has ${mains.length} core modules exporting ${FILTER_EXPORT}#configure by its canonical name` };
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
  sections(bytes); // truncation and section bounds, with a precise message
  const wit = await checkWorld(bytes);

  const limit = opts.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT;
  const maxPages = Math.max(1, Math.floor(limit / WASM_PAGE));
  const { core, obstacle } = mainCoreModule(coreModulesOfComponent(bytes));
  const binding = opts.binding ?? 'auto';
  if (binding === 'fast' && obstacle) throw new ComponentLoadError('unsupported', `the fast binding cannot run this component: it ${obstacle}`);

  let factory: ComponentFactory;
  let unboundedLoops: string | undefined;
  if (binding !== 'jco' && !obstacle && core) {
    const key = `${sha256}:${maxPages}`;
    let entry = compiled.get(key);
    if (!entry) {
      const fuel = withLoopFuel(core);
      const module = WebAssembly.compile(withMemoryCeiling(fuel.module, maxPages) as BufferSource);
      entry = { module, ...(fuel.instrumented ? {} : { unboundedLoops: `its code could not be instrumented (${fuel.why})` }) };
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
      factory = new FastComponentFactory(await module, hooks, opts.maxLoopIterations, maxPages * WASM_PAGE);
    } catch (err) {
      throw new ComponentLoadError('malformed', `the component's core module does not compile: ${(err as Error).message}`);
    }
  } else {
    factory = await createJcoFactory(bytes, sha256, opts.cacheDir ?? join(tmpdir(), 'praxis-wasm-cache'), maxPages, importsWasi(wit));
    unboundedLoops = 'loop fuel is applied on the fast binding only';
  }
  const loaded: LoadedComponent = { factory, sha256, bytes: bytes.length, wit };
  if (obstacle) loaded.fastPathObstacle = obstacle;
  if (unboundedLoops) loaded.unboundedLoops = unboundedLoops;
  return loaded;
}
