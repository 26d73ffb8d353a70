/**
 * `praxis-wasm new`: a scaffolded plugin, outside the repository, builds against the SDK installed
 * by name, passes its own tests (a mocked sub-request among them) and runs under `try --mock`.
 * The SDKs come from this checkout through `--sdk-path`, as crates.io and npm are not reachable
 * here; node_modules is laid out as `npm install` lays out local folders (links).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRustToolchain } from '../../runtime/build/rust.ts';
import { ROOT } from '../helpers/servers.ts';

const run = promisify(execFile);
const NODE = `${ROOT}node_modules/.bin/node`;
const CLI = `${ROOT}bin/praxis-wasm.js`;
let work: string;

beforeAll(async () => { work = await mkdtemp(join(tmpdir(), 'praxis-new-')); });
afterAll(async () => { await rm(work, { recursive: true, force: true }); });

function cli(args: string[], cwd: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(NODE, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

/** What `npm install` makes of the scaffold's two local dependencies: links into node_modules. */
async function linkDependencies(dir: string): Promise<void> {
  await mkdir(join(dir, 'node_modules', 'praxis-wasm'), { recursive: true });
  await symlink(join(ROOT, 'sdk-assemblyscript'), join(dir, 'node_modules', 'praxis-wasm-sdk-assemblyscript'));
  // praxis-wasm as its sources: `praxis-wasm/testing` resolves to runtime/testing/index.ts.
  await symlink(join(ROOT, 'runtime'), join(dir, 'node_modules', 'praxis-wasm', 'runtime'));
  await writeFile(join(dir, 'node_modules', 'praxis-wasm', 'package.json'),
    JSON.stringify({ name: 'praxis-wasm', version: '0.1.0', type: 'module', exports: { './testing': './runtime/testing/index.ts' } }));
}

const started = () => performance.now();
const seconds = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

describe('praxis-wasm new', () => {
  it('an AssemblyScript filter with a sub-request: builds against the SDK installed by name and passes its own tests', async () => {
    const t0 = started();
    const made = await cli(['new', 'auth-check', '--lang', 'assemblyscript', '--subrequest', '--sdk-path', join(ROOT, 'sdk-assemblyscript')], work);
    expect(made.code, made.err).toBe(0);
    const dir = join(work, 'auth-check');
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies['praxis-wasm-sdk-assemblyscript']).toBe(`file:${join(ROOT, 'sdk-assemblyscript')}`);
    expect(await readFile(join(dir, 'assembly', 'index.ts'), 'utf8')).toContain('from "praxis-wasm-sdk-assemblyscript"');
    await linkDependencies(dir);

    const built = await cli(['build', '.'], dir);
    expect(built.code, built.err).toBe(0);
    expect(existsSync(join(dir, 'dist', 'auth-check.wasm'))).toBe(true);
    const tests = await run(NODE, ['--test', '--test-reporter=tap', 'test/filter.test.ts'], { cwd: dir }).catch((e: { stdout: string; stderr: string }) => ({ stdout: e.stdout + e.stderr }));
    expect(tests.stdout).toMatch(/# pass 3\n# fail 0/);

    const tried = await cli(['try', 'dist/auth-check.wasm', '-c', '{"authUrl":"http://auth.test/check"}', '-H', 'authorization: Bearer t', '--mock', 'mocks.json'], dir);
    expect(tried.code, tried.err).toBe(0);
    const report = JSON.parse(tried.out) as { steps: Array<{ decision: { continue?: { setHeaders: Array<[string, string]> } } }> };
    expect(report.steps[0]!.decision.continue?.setHeaders).toContainEqual(['x-auth-user', 'alice']);
    console.log(`assemblyscript: new -> built -> tested -> tried in ${seconds(t0)}`);
  }, 180_000);

  it('a Rust filter with a sub-request: cargo test with mocked answers, then build and try', async () => {
    const t0 = started();
    const made = await cli(['new', 'auth-rs', '--lang', 'rust', '--subrequest', '--sdk-path', join(ROOT, 'sdk-rust')], work);
    expect(made.code, made.err).toBe(0);
    const dir = join(work, 'auth-rs');
    expect(await readFile(join(dir, 'Cargo.toml'), 'utf8')).toContain(`praxis-filter = { path = ${JSON.stringify(join(ROOT, 'sdk-rust'))} }`);

    // The toolchain the build uses, so both agree on the lock file.
    const tc = await findRustToolchain(dir);
    const tested = await run(tc.cargo, [...tc.args, 'test', '--offline'], { cwd: dir, env: { ...process.env, ...tc.env, CARGO_TARGET_DIR: join(dir, 'target') } });
    expect(tested.stdout).toMatch(/test result: ok\. 3 passed/);

    const built = await cli(['build', '.'], dir);
    expect(built.code, built.err).toBe(0);
    const tried = await cli(['try', 'dist/auth-rs.wasm', '-c', '{"authUrl":"http://auth.test/check"}', '-H', 'authorization: Bearer t', '--mock', 'mocks.json'], dir);
    expect(tried.code, tried.err).toBe(0);
    expect(tried.out).toContain('"x-auth-user"');
    console.log(`rust: new -> cargo test -> built -> tried in ${seconds(t0)}`);
  }, 300_000);

  it('refuses a bad name, an unknown language and a folder that is not empty, changing nothing', async () => {
    const bad = await cli(['new', 'My_Filter', '--lang', 'rust'], work);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/"My_Filter" is not a plugin name/);
    expect(existsSync(join(work, 'My_Filter'))).toBe(false);
    const lang = await cli(['new', 'x-filter', '--lang', 'go'], work);
    expect(lang.code).toBe(1);
    expect(lang.err).toMatch(/--lang go: expected one of rust, assemblyscript/);
    await mkdir(join(work, 'taken'));
    await writeFile(join(work, 'taken', 'keep.txt'), 'mine');
    const taken = await cli(['new', 'taken', '--lang', 'assemblyscript'], work);
    expect(taken.code).toBe(1);
    expect(taken.err).toMatch(/exists and is not empty/);
    expect(await readFile(join(work, 'taken', 'keep.txt'), 'utf8')).toBe('mine');
  });

  it('without --sdk-path the scaffold names the published SDKs by the WIT version', async () => {
    expect((await cli(['new', 'by-name-as', '--lang', 'assemblyscript'], work)).code).toBe(0);
    const pkg = JSON.parse(await readFile(join(work, 'by-name-as', 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies).toEqual({ 'praxis-wasm': '^0.1.0', 'praxis-wasm-sdk-assemblyscript': '^0.2.0' });
    expect((await cli(['new', 'by-name-rs', '--lang', 'rust'], work)).code).toBe(0);
    expect(await readFile(join(work, 'by-name-rs', 'Cargo.toml'), 'utf8')).toContain('praxis-filter = "0.2.0"');
    // An AssemblyScript plugin that imports the SDK by name but has not installed it: a hint, not asc's error.
    const missing = await cli(['build', '.'], join(work, 'by-name-as'));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('npm install --save-dev praxis-wasm-sdk-assemblyscript');
  }, 60_000);
});
