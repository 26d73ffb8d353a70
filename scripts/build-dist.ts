/**
 * Builds what the npm package ships (run by `prepack`, so `npm pack` and `npm publish` never ship
 * a stale or missing build):
 *  - every example plugin under plugins/ into plugins/<name>/dist/<name>.wasm (incremental): the
 *    demo runs them from the installed package, which has no toolchain for them;
 *  - the runtime compiled to JavaScript with its declarations into dist/ (tsconfig.build.json):
 *    Node does not strip types under node_modules. dist/ mirrors the checkout (dist/runtime,
 *    dist/scripts, dist/wit) so code that finds files next to itself (`../../wit/praxis.wit`)
 *    finds them there too, and files under runtime/ that are not TypeScript (schema.json) go in
 *    beside the JavaScript. Files found from the package's root instead (templates/, plugins/)
 *    ship as they are (package.json `files`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readdir, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPlugin } from './build-plugins.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const dist = join(root, 'dist');

/** Files the compiled code reads at run time by a path relative to itself. */
const ASSETS = ['wit'];

/** Entry points of the package's `exports` and `bin`; a missing one fails the build. */
const REQUIRED = ['runtime/index.js', 'runtime/index.d.ts', 'runtime/cli/main.js'];
/** Entry points that may not exist yet; a missing one is reported, not fatal. */
const OPTIONAL = ['runtime/testing/index.js'];

async function buildExamplePlugins(): Promise<void> {
  const plugins = join(root, 'plugins');
  for (const e of await readdir(plugins, { withFileTypes: true })) {
    if (e.isDirectory()) await buildPlugin(join(plugins, e.name));
  }
}

function compile(): void {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${r.status ?? r.signal})`);
}

/** Copies, under runtime/, what tsc does not emit: the files that are not TypeScript. */
async function copyRuntimeFiles(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const from = join(dir, e.name);
    if (e.isDirectory()) await copyRuntimeFiles(from);
    else if (e.isFile() && !e.name.endsWith('.ts')) await cp(from, join(dist, relative(root, from)));
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  await buildExamplePlugins();
  await rm(dist, { recursive: true, force: true });
  compile();
  await copyRuntimeFiles(join(root, 'runtime'));
  for (const a of ASSETS) await cp(join(root, a), join(dist, a), { recursive: true });
  const missing = REQUIRED.filter((f) => !existsSync(join(dist, f)));
  if (missing.length) throw new Error(`dist/ lacks ${missing.join(', ')}`);
  for (const f of OPTIONAL) if (!existsSync(join(dist, f))) console.error(`build-dist: note: dist/${f} is not there yet (its sources are missing)`);
  console.error(`build-dist: dist/ ready in ${Date.now() - started} ms`);
}

main().catch((err: Error) => {
  console.error(`build-dist: ${err.message}`);
  process.exit(1);
});
