/**
 * The packaging test's plugin-author steps: with the installed package, `praxis-wasm new` a
 * plugin outside the checkout in each language, install its SDK by name (AssemblyScript: the
 * tarball `npm pack` makes of sdk-assemblyscript; Rust: the checkout's crate by path, crates.io
 * being out of reach in CI), build it, run its own tests (a mocked sub-request among them), then
 * serve it from `praxis-wasm run` in front of the demo upstream and send it requests.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRustToolchain } from '../../runtime/build/rust.ts';
import type { PackageContext, Step } from './context.ts';
import { Background, runOk } from './harness.ts';

/** The installed CLI, run from the consumer project as a user would (`npx praxis-wasm ...`). */
const bin = (ctx: PackageContext) => join(ctx.consumer, 'node_modules', '.bin', 'praxis-wasm');
function praxis(ctx: PackageContext, args: string[], cwd = ctx.consumer) {
  return runOk(bin(ctx), args, { cwd, env: ctx.env24, timeoutMs: 300_000 });
}

/**
 * The plugin's praxis.yaml with the demo upstream's port, under `praxis-wasm run`; then a request
 * without and one with an authorization header: the filter answers 401, then lets it through.
 */
async function serve(ctx: PackageContext, dir: string): Promise<void> {
  const upstream = new Background(bin(ctx), ['demo-upstream', '--port', '0'], { cwd: dir, env: ctx.env24 });
  let gateway: Background | undefined;
  try {
    const up = (await upstream.waitFor(/demo upstream on http:\/\/127\.0\.0\.1:(\d+)/, 'the demo upstream', 60_000))[1]!;
    const config = readFileSync(join(dir, 'praxis.yaml'), 'utf8').replaceAll('127.0.0.1:9000', `127.0.0.1:${up}`);
    writeFileSync(join(dir, 'package-test.yaml'), config);
    gateway = new Background(bin(ctx), ['run', '--config', 'package-test.yaml', '--port', '0'], { cwd: dir, env: ctx.env24 });
    const port = (await gateway.waitFor(/gateway on http:\/\/127\.0\.0\.1:(\d+)/, 'the gateway with the scaffolded filter', 60_000))[1]!;
    const denied = await fetch(`http://127.0.0.1:${port}/hello`);
    if (denied.status !== 401) throw new Error(`without authorization: expected 401 from the filter, got ${denied.status} ${await denied.text()}`);
    const passed = await fetch(`http://127.0.0.1:${port}/hello`, { headers: { authorization: 'Bearer t' } });
    const echoed = await passed.text();
    if (passed.status !== 200 || !echoed.includes('x-auth-checked')) throw new Error(`with authorization: expected the upstream's echo with x-auth-checked, got ${passed.status} ${echoed}`);
  } finally {
    gateway?.kill();
    upstream.kill();
  }
}

export const scaffoldAssemblyScript: Step = {
  name: 'praxis-wasm new (AssemblyScript): SDK from its npm tarball, build, own tests, praxis-wasm run',
  async run(ctx) {
    const packed = runOk('npm', ['pack', '--json', '--pack-destination', ctx.work, join(ctx.root, 'sdk-assemblyscript')], { cwd: ctx.work, env: ctx.envMachine });
    const sdk = join(ctx.work, (JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[/m))) as Array<{ filename: string }>)[0]!.filename);
    const started = Date.now();
    const dir = join(ctx.work, 'as-auth');
    praxis(ctx, ['new', dir, '--lang', 'assemblyscript', '--subrequest', '--sdk-path', sdk], ctx.work);
    // praxis-wasm itself from the tarball under test (not yet in the registry); the SDK as scaffolded.
    runOk('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--save-dev', ctx.tarball], { cwd: dir, env: ctx.env24 });
    const tests = runOk('npm', ['test'], { cwd: dir, env: ctx.env24, timeoutMs: 300_000 });
    if (!/pass 3/.test(tests.stdout) || /fail [1-9]/.test(tests.stdout)) throw new Error(`the scaffold's tests did not all pass:\n${tests.stdout}`);
    await serve(ctx, dir);
    ctx.report.push(`assemblyscript: new -> installed -> built -> tested -> serving in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
};

export const scaffoldRust: Step = {
  name: 'praxis-wasm new (Rust): cargo test with mocked sub-requests, build, praxis-wasm run',
  async run(ctx) {
    const started = Date.now();
    const dir = join(ctx.work, 'rs-auth');
    praxis(ctx, ['new', dir, '--lang', 'rust', '--subrequest', '--sdk-path', join(ctx.root, 'sdk-rust')], ctx.work);
    // The toolchain praxis-wasm build picks, so cargo test and the build agree on the lock file.
    const tc = await findRustToolchain(dir);
    const tests = runOk(tc.cargo, [...tc.args, 'test', '--offline'], { cwd: dir, env: { ...ctx.env24, ...tc.env }, timeoutMs: 300_000 });
    if (!/test result: ok\. 3 passed/.test(tests.stdout)) throw new Error(`the scaffold's cargo tests did not all pass:\n${tests.stdout}`);
    praxis(ctx, ['build', dir]);
    await serve(ctx, dir);
    ctx.report.push(`rust: new -> cargo test -> built -> serving in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
};
