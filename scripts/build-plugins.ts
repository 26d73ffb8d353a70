/**
 * Builds every plugin under plugins/ and test/fixtures/ into <dir>/dist/<name>.wasm.
 * A plugin with a Cargo.toml is Rust; one with an assembly/ folder is AssemblyScript; one with a
 * filter.js is JavaScript (componentize-js, about 20 s, so the hash stamp matters most there).
 * Incremental: a plugin whose sources (and SDK, and WIT) are unchanged is skipped.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const SKIP = new Set(['dist', 'target', 'node_modules', 'build']);

async function hashTree(hash: ReturnType<typeof createHash>, dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await hashTree(hash, p);
    else if (e.isFile()) hash.update(p).update(await readFile(p));
  }
}

type Lang = 'rust' | 'assemblyscript' | 'javascript';

function languageOf(dir: string): Lang | undefined {
  if (existsSync(join(dir, 'Cargo.toml'))) return 'rust';
  if (existsSync(join(dir, 'assembly'))) return 'assemblyscript';
  if (existsSync(join(dir, 'filter.js'))) return 'javascript';
  return undefined;
}

export async function buildPlugin(dir: string, opts: { force?: boolean } = {}): Promise<string> {
  const lang = languageOf(dir);
  if (!lang) throw new Error(`${dir}: no Cargo.toml, assembly/ folder or filter.js; nothing to build`);
  const name = basename(dir);
  const out = join(dir, 'dist', `${name}.wasm`);
  const hash = createHash('sha256');
  await hashTree(hash, dir);
  if (lang === 'javascript') hash.update(await readFile(join(root, 'node_modules', '@bytecodealliance', 'componentize-js', 'package.json')));
  else if (lang === 'rust') await hashTree(hash, join(root, 'sdk-rust'));
  // The SDK this plugin resolves (installed in its node_modules, or the checkout's): an upgrade rebuilds.
  else await hashTree(hash, (await import('../runtime/build/assemblyscript-sdk.ts')).resolveAssemblyScriptSdk(dir).root);
  await hashTree(hash, join(root, 'wit'));
  await hashTree(hash, join(root, 'runtime', 'build'));
  const digest = hash.digest('hex');
  const stamp = join(dir, 'dist', '.source-hash');
  if (!opts.force && existsSync(out) && existsSync(stamp) && (await readFile(stamp, 'utf8')) === digest) return out;
  await mkdir(join(dir, 'dist'), { recursive: true });
  const started = Date.now();
  if (lang === 'rust') {
    const { buildRust } = await import('../runtime/build/rust.ts');
    await buildRust(dir, out);
  } else if (lang === 'javascript') {
    const { buildJavaScript } = await import('../runtime/build/javascript.ts');
    await buildJavaScript(dir, out);
  } else {
    const { buildAssemblyScript } = await import('../runtime/build/assemblyscript.ts');
    await buildAssemblyScript(dir, out);
  }
  await writeFile(stamp, digest);
  const size = (await stat(out)).size;
  console.log(`built ${lang} ${name} -> ${displayPath(out)} (${size} bytes, ${Date.now() - started} ms)`);
  return out;
}

/** `file` relative to the working directory when it lies below it, else absolute (never clipped). */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

export async function pluginDirs(): Promise<string[]> {
  const dirs: string[] = [];
  for (const parent of ['plugins', join('test', 'fixtures')]) {
    const abs = join(root, parent);
    if (!existsSync(abs)) continue;
    for (const e of await readdir(abs, { withFileTypes: true })) {
      if (e.isDirectory() && languageOf(join(abs, e.name))) dirs.push(join(abs, e.name));
    }
  }
  return dirs.sort();
}

export async function buildAll(opts: { force?: boolean; only?: Lang } = {}): Promise<void> {
  const failures: string[] = [];
  for (const dir of await pluginDirs()) {
    if (opts.only && languageOf(dir) !== opts.only) continue;
    try {
      await buildPlugin(dir, opts);
    } catch (err) {
      failures.push(`${basename(dir)}: ${(err as Error).message}`);
    }
  }
  if (failures.length) throw new Error(`plugin build failed:\n  ${failures.join('\n  ')}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes('--force');
  buildAll({ force }).catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
}
