/**
 * jco's transpiled glue for a component: transpiled once, kept in the private glue cache
 * (glue-cache.ts), made strict about UTF-8, and imported from exactly the bytes that were checked
 * (a data: URL, so no file is read between the hash check and the import).
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { transpile } from '@bytecodealliance/jco';
import { ComponentLoadError } from './errors.ts';
import { defaultCacheDir, privateDirProblem, readEntry, writeEntry } from './glue-cache.ts';
import { type WorldVersion, filterExport, hasInterface, interfaceName } from './world-version.ts';

/** The glue's file in jco's output; the rest we keep are its core modules (`plugin.core*.wasm`). */
const GLUE = 'plugin.js';
const HOOKS = ['configure', 'on-request-headers', 'on-request-body', 'on-response-headers', 'on-response-body'];
const KV_FUNCS = ['get', 'set', 'delete', 'increment', 'compare-and-swap'];

export type GetCoreModule = (name: string) => Promise<WebAssembly.Module>;
export type InstantiateCore = (module: WebAssembly.Module, imports?: WebAssembly.Imports) => Promise<WebAssembly.Instance>;
/** What jco's `--instantiation async` glue exports. */
export interface JcoModule {
  instantiate(getCoreModule: GetCoreModule, imports: Record<string, unknown>, instantiateCore: InstantiateCore): Promise<Record<string, unknown>>;
}

export interface Glue {
  module: JcoModule;
  /** The component's core modules by the name the glue asks `getCoreModule` for. */
  cores: Map<string, Uint8Array>;
}

/** Where cache notices go (a cache that cannot be used, an entry that failed its check). */
export type Warn = (msg: string) => void;

/**
 * jco lifts strings with `new TextDecoder()`, which turns invalid UTF-8 into U+FFFD where the
 * fast binding traps: every decoder the glue makes is made fatal, and glue with a decoder this
 * cannot recognise is refused rather than run loose.
 */
export function strictDecoders(js: string): string {
  const out = js.replace(/new TextDecoder\(\s*(?:(['"])(utf-?8|utf-16(?:le)?)\1\s*)?\)/gi, (_m, _q, enc: string | undefined) => `new TextDecoder('${enc ?? 'utf-8'}', { fatal: true })`);
  const loose = /new TextDecoder\((?![^)]*fatal: true)[^)]*\)/.exec(out);
  if (loose) throw new ComponentLoadError('unsupported', `jco's glue makes a text decoder that cannot be made strict: ${loose[0]}`);
  return out;
}

let stampOnce: Promise<string> | undefined;
/** Entries made by another jco version are not reused. */
function stamp(): Promise<string> {
  stampOnce ??= (async () => {
    const entry = createRequire(import.meta.url).resolve('@bytecodealliance/jco');
    const pkg = JSON.parse(await readFile(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version?: unknown };
    return `jco ${String(pkg.version)}`;
  })().catch(() => 'jco unknown');
  return stampOnce;
}

/** The imports that suspend the guest: sub-requests, and every store call (the Redis backend is asynchronous). */
function asyncImports(version: WorldVersion): string[] {
  const http = interfaceName('http-client', version);
  const out = [`${http}#http-subrequest`, `${http}#http-subrequest-all`];
  if (hasInterface(version, 'keyvalue')) out.push(...KV_FUNCS.map((f) => `${interfaceName('keyvalue', version)}#${f}`));
  return out;
}

async function transpileGlue(component: Uint8Array, version: WorldVersion): Promise<Map<string, Uint8Array>> {
  const out = await transpile(component, {
    name: 'plugin',
    instantiation: 'async',
    asyncMode: 'jspi',
    asyncImports: asyncImports(version),
    asyncExports: HOOKS.map((h) => `${filterExport(version)}#${h}`),
    noTypescript: true,
    quiet: true,
  });
  const files = new Map<string, Uint8Array>();
  for (const [name, bytes] of Object.entries(out.files)) if (name === GLUE || /^[\w.-]+\.wasm$/.test(name)) files.set(name, bytes);
  return files;
}

/** Cache roots already reported as unusable (one notice per root, not one per plugin). */
const refusedRoots = new Set<string>();

/**
 * The glue of `component` (sha256 `hash`), from the cache at `cacheDir` (default: defaultCacheDir())
 * when a checked entry is there, else transpiled (and stored when the cache may be used).
 */
export async function loadGlue(component: Uint8Array, hash: string, world: WorldVersion, cacheDir: string | undefined, warn: Warn): Promise<Glue> {
  const root = cacheDir ?? defaultCacheDir();
  const problem = await privateDirProblem(root);
  if (problem && !refusedRoots.has(root)) {
    refusedRoots.add(root);
    warn(`jco glue cache not used: ${problem}; components on the jco path are transpiled on every load`);
  }
  const key = `jco-${hash}`;
  const version = await stamp();
  let files: Map<string, Uint8Array> | undefined;
  if (!problem) {
    const read = await readEntry(root, key, version);
    const why = read.hit ? (read.files.has(GLUE) ? undefined : `it has no ${GLUE}`) : read.why;
    if (read.hit && !why) files = read.files;
    else if (why) warn(`cached jco glue of component ${hash} not used: ${why}; transpiling it again`);
  }
  if (!files) {
    files = await transpileGlue(component, world);
    if (!problem) await writeEntry(root, key, version, files).catch((err: Error) => warn(`jco glue cache: cannot store ${key}: ${err.message}`));
  }
  const glue = files.get(GLUE);
  if (!glue) throw new ComponentLoadError('unsupported', `jco emitted no ${GLUE} for this component`);
  const js = strictDecoders(new TextDecoder().decode(glue));
  const module = (await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`)) as JcoModule;
  const cores = new Map([...files].filter(([name]) => name !== GLUE));
  return { module, cores };
}
