/**
 * The SDKs as packages: versions tied to the WIT version, the AssemblyScript SDK's npm tarball
 * carrying what `praxis-wasm build` needs (entry, glue, WIT, asc as a dependency), the Rust
 * crate's publish metadata.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { findRustToolchain } from '../../runtime/build/rust.ts';
import { ROOT } from '../helpers/servers.ts';

const run = promisify(execFile);
const witVersion = async () => /^package praxis:filter@([0-9.]+);/m.exec(await readFile(join(ROOT, 'wit', 'praxis.wit'), 'utf8'))![1]!;

describe('SDK packages', () => {
  it('the AssemblyScript SDK packs as praxis-wasm-sdk-assemblyscript with its entry, glue, WIT and asc', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'sdk-assemblyscript', 'package.json'), 'utf8')) as {
      name: string; version: string; dependencies: Record<string, string>;
    };
    expect(pkg.name).toBe('praxis-wasm-sdk-assemblyscript');
    expect(pkg.version).toBe(await witVersion());
    expect(Object.keys(pkg.dependencies)).toEqual(['assemblyscript']);
    // The WIT the SDK carries is the one the runtime implements.
    expect(await readFile(join(ROOT, 'sdk-assemblyscript', 'wit', 'praxis.wit'), 'utf8')).toBe(await readFile(join(ROOT, 'wit', 'praxis.wit'), 'utf8'));
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--offline', join(ROOT, 'sdk-assemblyscript')], { cwd: ROOT });
    const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['index.ts', 'assembly/exports.ts', 'assembly/abort.ts', 'assembly/index.ts', 'wit/praxis.wit', 'README.md', 'package.json']));
  });

  it('the Rust crate is versioned by the WIT and packages its README', async () => {
    const toml = await readFile(join(ROOT, 'sdk-rust', 'Cargo.toml'), 'utf8');
    const version = await witVersion();
    expect(toml).toMatch(new RegExp(`^version = "${version.replaceAll('.', '\\.')}"$`, 'm'));
    expect(toml).toContain(`wit = "praxis:filter@${version}"`);
    for (const key of ['license', 'description', 'readme', 'documentation', 'keywords', 'categories']) {
      expect(toml, key).toMatch(new RegExp(`^${key} = `, 'm'));
    }
    const tc = await findRustToolchain(join(ROOT, 'sdk-rust'));
    const { stdout } = await run(tc.cargo, [...tc.args, 'package', '--list', '--offline', '--allow-dirty'], { cwd: join(ROOT, 'sdk-rust'), env: { ...process.env, ...tc.env } });
    expect(stdout.split('\n')).toEqual(expect.arrayContaining(['README.md', 'src/lib.rs', 'src/testing.rs', 'build.rs']));
  });
});
