/**
 * Where the praxis-wasm package lies, and its version. The same code runs from the repository's
 * sources (runtime/...) and, installed, from compiled JavaScript one folder deeper
 * (dist/runtime/...), so files shipped next to it (the example plugins, package.json) are found by
 * walking up to praxis-wasm's own package.json rather than by a fixed number of `..`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface PackageJson { name?: unknown; version?: unknown }

function readPackage(dir: string): PackageJson | undefined {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
}

function findRoot(): { root: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = readPackage(dir);
    if (pkg?.name === 'praxis-wasm') return { root: dir, version: String(pkg.version) };
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`praxis-wasm: no package.json of praxis-wasm above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

let found: { root: string; version: string } | undefined;

/** The package's folder: the repository root, or node_modules/praxis-wasm when installed. */
export function packageRoot(): string {
  found ??= findRoot();
  return found.root;
}

/** The package's version, from its package.json. */
export function packageVersion(): string {
  found ??= findRoot();
  return found.version;
}
