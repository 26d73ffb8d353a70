/**
 * Builds a Rust filter crate (a cdylib using sdk-rust) into a praxis:filter component.
 * Finds a toolchain that can target wasm32-unknown-unknown: rustup's default, a rustup toolchain
 * named `debian` (rustup toolchain link debian /usr), or Debian's packaged rustc/cargo in /usr.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CURRENT_VERSION, type WorldVersion, hasInterface, parsePraxisName, versionOfCoreExports } from '../component/world-version.ts';
import { componentize, witPathFor } from './componentize.ts';
import { embedConfigSchema } from './config-schema.ts';

const run = promisify(execFile);
const TARGET = 'wasm32-unknown-unknown';

export const RUST_INSTALL_HINT =
  `no Rust toolchain with the ${TARGET} target was found. Install one of:\n` +
  `  - with rustup: rustup target add ${TARGET}\n` +
  `  - on Debian/Ubuntu: apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld (or run .ci/install-rust.sh)`;

interface Toolchain {
  cargo: string;
  args: string[];
  env: Record<string, string>;
  label: string;
}

/** True if `rustc [+toolchain]` has the standard library for the wasm target. */
async function hasTarget(rustc: string, extra: string[], cwd: string): Promise<boolean> {
  try {
    const { stdout } = await run(rustc, [...extra, '--print', 'target-libdir', '--target', TARGET], { cwd });
    return existsSync(stdout.trim());
  } catch {
    return false;
  }
}

let cached: Toolchain | undefined;

export async function findRustToolchain(cwd: string): Promise<Toolchain> {
  if (cached) return cached;
  // Run from the plugin dir so a rust-toolchain file there is honoured.
  if (await hasTarget('rustc', [], cwd)) cached = { cargo: 'cargo', args: [], env: {}, label: 'default' };
  else if (await hasTarget('rustc', ['+debian'], cwd)) cached = { cargo: 'cargo', args: ['+debian'], env: {}, label: '+debian' };
  else if (existsSync(`/usr/lib/rustlib/${TARGET}`) && existsSync('/usr/bin/cargo') && existsSync('/usr/bin/rustc')) {
    // Debian's cargo, pinned to Debian's rustc even when rustup's proxies come first on PATH.
    cached = { cargo: '/usr/bin/cargo', args: [], env: { RUSTC: '/usr/bin/rustc' }, label: '/usr/bin' };
  }
  if (!cached) throw new Error(RUST_INSTALL_HINT);
  return cached;
}

/** The interfaces a module built against `version` may import (its own version's, nothing else). */
function allowedImport(module: string, version: WorldVersion): boolean {
  const p = parsePraxisName(module);
  return p !== undefined && p.version === version && p.name !== 'filter' && p.name !== 'types' && hasInterface(version, p.name);
}

export async function buildRust(dir: string, outFile: string): Promise<void> {
  dir = resolve(dir);
  const tc = await findRustToolchain(dir);
  const args = [...tc.args, 'build', '--release', '--offline', '--target', TARGET, '--message-format=json-render-diagnostics', '--manifest-path', join(dir, 'Cargo.toml')];
  let stdout: string;
  try {
    ({ stdout } = await run(tc.cargo, args, {
      cwd: dir,
      // RUSTC_BOOTSTRAP=praxis_filter: on rustc < 1.68 the SDK's no_std build needs the (then
      // unstable) #[alloc_error_handler]; scoped to the SDK crate, unused on newer rustc.
      env: { ...process.env, ...tc.env, CARGO_TARGET_DIR: join(dir, 'target'), RUSTC_BOOTSTRAP: 'praxis_filter' },
      maxBuffer: 64 << 20,
    }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const output = e.stderr?.trim() || e.message;
    throw new Error(`cargo build failed in ${dir} (toolchain ${tc.label}):\n${output}${buildHint(output)}`);
  }
  // The cdylib's .wasm, as cargo reports it (the file name depends on the crate name).
  let wasm: string | undefined;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const msg = JSON.parse(line) as { reason?: string; target?: { kind?: string[] }; filenames?: string[] };
    if (msg.reason === 'compiler-artifact' && msg.target?.kind?.includes('cdylib')) {
      wasm = msg.filenames?.find((f) => f.endsWith('.wasm'));
    }
  }
  if (!wasm) throw new Error(`${dir}: cargo built no cdylib .wasm; set [lib] crate-type = ["cdylib"]`);
  const core = await readFile(wasm);
  const module = new WebAssembly.Module(core);
  // The crate's SDK decides the version (a plugin on an older praxis-filter builds against that WIT).
  const version = versionOfCoreExports(WebAssembly.Module.exports(module).map((e) => e.name)) ?? CURRENT_VERSION;
  const bad = WebAssembly.Module.imports(module).filter((i) => !allowedImport(i.module, version));
  if (bad.length) {
    const names = bad.map((i) => `${i.module}.${i.name}`).join(', ');
    throw new Error(`${dir}: the module imports ${names}; a praxis filter may import only the praxis:filter interfaces (no WASI, no wasm-bindgen)`);
  }
  await mkdir(dirname(outFile), { recursive: true });
  // The schema goes in after stripping: it is the one custom section the host reads.
  await writeFile(outFile, await embedConfigSchema(dir, stripCustomSections(await componentize(await shrink(core), witPathFor(version)))));
}

/** One line saying what to do about a failure authors meet often, or nothing. */
export function buildHint(cargoOutput: string): string {
  // std on wasm brings its own panic handler (and allocator): a crate that is not #![no_std]
  // collides with the SDK's, and rustc names only the lang item.
  if (/duplicate lang item/.test(cargoOutput)) {
    return '\nhint: add #![no_std] as the first line of src/lib.rs: on wasm the SDK supplies the panic handler and the allocator (see sdk-rust/README.md)';
  }
  return '';
}

/**
 * Drops custom sections (component-name, producers) from a component and the modules and
 * components nested in it: debugging names only, ~1.8 KB. Indices are untouched.
 */
export function stripCustomSections(bin: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [bin.subarray(0, 8)];
  let i = 8;
  const leb = (): number => {
    let r = 0;
    let shift = 0;
    let b: number;
    do {
      b = bin[i++]!;
      r += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return r;
  };
  const isComponent = bin[4] !== 1 || bin[6] !== 0; // layer 1 or a component version
  while (i < bin.length) {
    const id = bin[i++]!;
    const size = leb();
    const body = bin.subarray(i, i + size);
    i += size;
    if (id === 0) continue;
    // In a component, section 1 is a core module and 4 a component: strip inside them too.
    const inner = isComponent && (id === 1 || id === 4) ? stripCustomSections(body) : body;
    parts.push(Uint8Array.of(id), uleb(inner.length), inner);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function uleb(n: number): Uint8Array {
  const b: number[] = [];
  do {
    let x = n % 128;
    n = Math.floor(n / 128);
    if (n) x |= 0x80;
    b.push(x);
  } while (n);
  return Uint8Array.from(b);
}

/**
 * Runs binaryen's -Oz over the core module when the `binaryen` package is installed (it comes
 * with assemblyscript): about 12% smaller. Without it, or if binaryen rejects the module (say a
 * newer rustc used features enabled here), the module is used as cargo built it.
 */
async function shrink(core: Uint8Array): Promise<Uint8Array> {
  let binaryen: typeof import('binaryen').default;
  try {
    binaryen = (await import('binaryen')).default;
  } catch {
    return core;
  }
  const F = binaryen.Features;
  let mod: ReturnType<typeof binaryen.readBinary> | undefined;
  try {
    mod = binaryen.readBinary(core);
    mod.setFeatures(F.MVP | F.MutableGlobals | F.SignExt | F.BulkMemory | F.NontrappingFPToInt | F.Multivalue | F.ReferenceTypes);
    if (!mod.validate()) return core;
    binaryen.setOptimizeLevel(2);
    binaryen.setShrinkLevel(2);
    mod.optimize();
    const out = mod.emitBinary();
    return out.length < core.length ? out : core;
  } catch {
    return core;
  } finally {
    mod?.dispose();
  }
}
