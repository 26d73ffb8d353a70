/**
 * Builds an AssemblyScript plugin (`<dir>/assembly/index.ts`) into a praxis:filter component.
 * asc compiles the plugin together with the SDK's export glue (a second entry file), with the
 * stub runtime (the SDK resets a per-call arena on it) and `abort` redirected into the SDK, so
 * the core module imports only praxis interfaces. Then the glue's identifier exports are
 * renamed to the canonical names of docs/abi.md, and componentize() wraps the module.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AS_SDK_PACKAGE, loadAsc, resolveAssemblyScriptSdk } from './assemblyscript-sdk.ts';
import { componentize } from './componentize.ts';
import { embedConfigSchema } from './config-schema.ts';
import { CURRENT_VERSION, WORLD_VERSIONS, type WorldVersion, filterExport, isWorldVersion } from '../component/world-version.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SDK = join(ROOT, 'sdk-assemblyscript', 'assembly');
const HOOKS = ['configure', 'on-request-headers', 'on-request-body', 'on-response-headers', 'on-response-body'];

/** SDK export identifier -> canonical core export name, for the world version the SDK implements. */
export function exportNames(version: WorldVersion = CURRENT_VERSION): ReadonlyMap<string, string> {
  const iface = filterExport(version);
  return new Map([
    ['memory', 'memory'],
    ['cabi_realloc', 'cabi_realloc'],
    ...HOOKS.flatMap((h): Array<[string, string]> => {
      const id = `praxis_${h.replaceAll('-', '_')}`;
      return [[id, `${iface}#${h}`], [`cabi_post_${id}`, `cabi_post_${iface}#${h}`]];
    }),
  ]);
}
export const EXPORT_NAMES = exportNames();

/** The world version of a WIT file (its `package praxis:filter@x.y.z;` line). */
async function witVersion(witPath: string): Promise<WorldVersion> {
  const v = /^package praxis:filter@([^;\s]+);/m.exec(await readFile(witPath, 'utf8'))?.[1];
  if (v === undefined || !isWorldVersion(v)) throw new Error(`${witPath}: the SDK's WIT is praxis:filter@${v ?? '?'}, a version this praxis-wasm cannot build (it builds ${WORLD_VERSIONS.join(', ')})`);
  return v;
}

/** asc paths are relative to its baseDir and use forward slashes. */
function ascPath(abs: string, base = ROOT): string {
  return relative(base, abs).split('\\').join('/');
}

/**
 * The deepest folder holding both the plugin and the SDK. asc names modules by their path from
 * its baseDir; a path with `..` would make the SDK two different modules (one per importer).
 */
function commonBase(a: string, b: string): string {
  const pa = a.split(sep);
  const pb = b.split(sep);
  let i = 0;
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++;
  return pa.slice(0, i).join(sep) || sep;
}

/** The glue entry of a plugin built against the installed SDK: a file asc reads, never written. */
const GLUE_ENTRY = '__praxis_glue.ts';

/** Compiles the plugin to a core module, or throws with asc's diagnostics. */
export async function compileAssemblyScript(dir: string): Promise<Uint8Array> {
  const sdk = resolveAssemblyScriptSdk(dir);
  const asc = await loadAsc(sdk);
  const entry = join(resolve(dir), 'assembly', 'index.ts');
  // With the installed SDK the glue entry imports the package by name, as the plugin does: asc
  // then names every SDK module `~lib/<package>/...` once, so both share one filter registry.
  const installed = sdk.kind === 'installed';
  const base = installed ? resolve(dir) : commonBase(resolve(dir), ROOT);
  const glue = installed ? join(resolve(dir), 'assembly', GLUE_ENTRY) : join(SDK, 'exports.ts');
  const abort = installed ? `~lib/${AS_SDK_PACKAGE}/assembly/abort` : ascPath(join(SDK, 'abort'), base);
  let binary: Uint8Array | undefined;
  let diagnostics = '';
  const sink = { write(s: string | Uint8Array) { diagnostics += typeof s === 'string' ? s : Buffer.from(s).toString(); return true; } };
  const { error } = await asc.main(
    [
      ascPath(entry, base),
      ascPath(glue, base),
      '--baseDir', base,
      '--outFile', 'module.wasm',
      '-O3', '--noAssert',
      '--runtime', 'stub',
      '--use', `abort=${abort}/praxisAbort`,
      '--noColors',
    ],
    {
      stdout: sink as never,
      stderr: sink as never,
      readFile: async (name: string, from: string) => {
        if (installed && name.endsWith(GLUE_ENTRY)) return `export * from "${AS_SDK_PACKAGE}/assembly/exports";\n`;
        return readFile(resolve(from, name), 'utf8').catch(() => null);
      },
      writeFile: (name: string, contents: Uint8Array | string) => {
        if (name.endsWith('.wasm')) binary = contents as Uint8Array;
      },
    },
  );
  if (error || !binary) {
    throw new Error(`asc failed for ${ascPath(entry)}: ${error?.message ?? 'no output'}\n${diagnostics.trim()}`);
  }
  return binary;
}

// --- a minimal reader/writer for the core module's import and export sections ---

function readU32(b: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = b[pos++]!;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result >>> 0, pos];
    shift += 7;
  }
}

function writeU32(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

function readName(b: Uint8Array, pos: number): [string, number] {
  const [len, p] = readU32(b, pos);
  return [new TextDecoder().decode(b.subarray(p, p + len)), p + len];
}

/** Import names of a core module, as "module name". */
export function coreImports(core: Uint8Array): string[] {
  const out: string[] = [];
  for (const s of sections(core)) {
    if (s.id !== 2) continue;
    let [count, p] = readU32(core, s.start);
    for (let i = 0; i < count; i++) {
      let mod: string, name: string;
      [mod, p] = readName(core, p);
      [name, p] = readName(core, p);
      const kind = core[p++];
      if (kind === 0) [, p] = readU32(core, p); // func: type index
      else throw new Error(`unexpected import kind ${kind} for ${mod} ${name}`);
      out.push(`${mod} ${name}`);
    }
  }
  return out;
}

function* sections(b: Uint8Array): Generator<{ id: number; headerStart: number; start: number; end: number }> {
  let pos = 8;
  while (pos < b.length) {
    const headerStart = pos;
    const id = b[pos++]!;
    const [size, start] = readU32(b, pos);
    yield { id, headerStart, start, end: start + size };
    pos = start + size;
  }
}

/** Rewrites the export section (id 7) with `rename`; every other byte is kept as is. */
export function renameExports(core: Uint8Array, rename: (name: string) => string): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of sections(core)) {
    if (s.id !== 7) {
      parts.push(core.subarray(s.headerStart, s.end));
      continue;
    }
    let [count, p] = readU32(core, s.start);
    const body: number[] = writeU32(count);
    for (let i = 0; i < count; i++) {
      let name: string;
      [name, p] = readName(core, p);
      const kind = core[p++]!;
      let index: number;
      [index, p] = readU32(core, p);
      const bytes = new TextEncoder().encode(rename(name));
      body.push(...writeU32(bytes.length), ...bytes, kind, ...writeU32(index));
    }
    parts.push(Uint8Array.from([7, ...writeU32(body.length), ...body]));
  }
  return Buffer.concat([core.subarray(0, 8), ...parts]);
}

export async function buildAssemblyScript(dir: string, outFile: string): Promise<void> {
  const core = await compileAssemblyScript(dir);
  const foreign = coreImports(core).filter((i) => !i.startsWith('praxis:filter/'));
  if (foreign.length) {
    throw new Error(`${ascPath(dir)} imports ${foreign.join(', ')}; a praxis filter may import only praxis:filter interfaces (avoid Math.random, Date, console, trace)`);
  }
  // An installed SDK carries the WIT it was written for: its exports follow that version.
  const witPath = resolveAssemblyScriptSdk(dir).witPath;
  const names = exportNames(await witVersion(witPath));
  const renamed = renameExports(core, (name) => {
    const canonical = names.get(name);
    if (!canonical) throw new Error(`${ascPath(dir)} exports '${name}': only the SDK's glue may be exported (do not export functions from assembly/index.ts)`);
    return canonical;
  });
  const component = await embedConfigSchema(dir, await componentize(renamed, witPath));
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, component);
}
