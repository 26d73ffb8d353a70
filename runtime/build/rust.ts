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
import { componentize } from './componentize.ts';

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

const ALLOWED_IMPORTS = /^praxis:filter\/(http-client|context|log)@0\.1\.0$/;

export async function buildRust(dir: string, outFile: string): Promise<void> {
  dir = resolve(dir);
  const tc = await findRustToolchain(dir);
  const args = [...tc.args, 'build', '--release', '--offline', '--target', TARGET, '--message-format=json-render-diagnostics', '--manifest-path', join(dir, 'Cargo.toml')];
  let stdout: string;
  try {
    ({ stdout } = await run(tc.cargo, args, {
      cwd: dir,
      env: { ...process.env, ...tc.env, CARGO_TARGET_DIR: join(dir, 'target') },
      maxBuffer: 64 << 20,
    }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`cargo build failed in ${dir} (toolchain ${tc.label}):\n${e.stderr?.trim() || e.message}`);
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
  const bad = WebAssembly.Module.imports(new WebAssembly.Module(core)).filter((i) => !ALLOWED_IMPORTS.test(i.module));
  if (bad.length) {
    const names = bad.map((i) => `${i.module}.${i.name}`).join(', ');
    throw new Error(`${dir}: the module imports ${names}; a praxis filter may import only the praxis:filter interfaces (no WASI, no wasm-bindgen)`);
  }
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, await componentize(await shrink(core)));
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
