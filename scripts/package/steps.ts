/**
 * The packaging test's steps, each what a user outside the checkout does with the package:
 * pack it, install it, run the demo and its printed curl, import the library (and its types),
 * and run the CLI on an old Node to follow what it says.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PackageContext, Step } from './context.ts';
import { accepts, Background, diskUse, eventually, megabytes, run, runOk } from './harness.ts';

const DEMO_PLUGINS = ['request-headers', 'header-router', 'deny-list'];

interface PackResult { filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }

/** `npm pack`, prepack included: the runtime compiled, the example plugins built into the tarball. */
export const pack: Step = {
  name: 'npm pack',
  async run(ctx) {
    const r = runOk('npm', ['pack', '--json', '--pack-destination', ctx.work], { cwd: ctx.root, env: ctx.envMachine });
    // Lifecycle scripts print to the same stdout before npm's JSON.
    const json = r.stdout.slice(r.stdout.search(/^\[/m));
    const [result] = JSON.parse(json) as PackResult[];
    if (!result) throw new Error(`npm pack printed no result:\n${r.stdout}`);
    ctx.tarball = join(ctx.work, result.filename);
    const paths = new Set(result.files.map((f) => f.path));
    const needed = ['bin/praxis-wasm.js', 'dist/runtime/index.js', 'dist/runtime/index.d.ts', 'dist/runtime/cli/main.js',
      'dist/wit/praxis.wit', 'dist/runtime/config/schema.json', ...DEMO_PLUGINS.map((p) => `plugins/${p}/dist/${p}.wasm`)];
    const missing = needed.filter((p) => !paths.has(p));
    if (missing.length) throw new Error(`the tarball lacks ${missing.join(', ')}`);
    // TypeScript ships only as declarations, and as the scaffold's templates (copied, not run).
    const stray = [...paths].filter((p) => /^(test|bench|\.ci|node_modules|runtime|scripts|sdk-[^/]+)\//.test(p)
      || (p.endsWith('.ts') && !p.endsWith('.d.ts') && !p.startsWith('templates/')));
    if (stray.length) throw new Error(`the tarball ships what users do not need: ${stray.slice(0, 10).join(', ')}`);
    ctx.report.push(`tarball: ${result.filename}, ${megabytes(result.size)} (${megabytes(result.unpackedSize)} unpacked, ${paths.size} files)`);
  },
};

/**
 * An empty project installs the tarball. --prefer-offline takes every dependency from npm's cache
 * when `npm ci` put it there, and asks the registry only for what the cache lacks.
 */
export const install: Step = {
  name: 'npm install <tarball> in an empty project',
  async run(ctx) {
    mkdirSync(ctx.consumer, { recursive: true });
    writeFileSync(join(ctx.consumer, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)}\n`);
    runOk('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ctx.tarball], { cwd: ctx.consumer, env: ctx.env24 });
    const devOnly = ['vitest', 'autocannon', 'fast-check', 'assemblyscript', 'node', '@types/node'];
    // A tool one of our runtime dependencies itself depends on (protobufjs needs @types/node) is theirs, not a leak of ours.
    const lock = JSON.parse(readFileSync(join(ctx.consumer, 'node_modules', '.package-lock.json'), 'utf8')) as { packages: Record<string, { dependencies?: Record<string, string> }> };
    const neededBy = (d: string) => Object.entries(lock.packages).some(([at, p]) => at !== 'node_modules/praxis-wasm' && p.dependencies?.[d] !== undefined);
    const present = devOnly.filter((d) => existsSync(join(ctx.consumer, 'node_modules', d, 'package.json')) && !neededBy(d));
    if (present.length) throw new Error(`development tools installed with the package: ${present.join(', ')}`);
    ctx.report.push(`installed: ${megabytes(diskUse(join(ctx.consumer, 'node_modules')))} in node_modules (du)`);
  },
};

/** `npx praxis-wasm run`: the demo from the installed package; its printed curl; SIGTERM to npx ends it. */
export const demo: Step = {
  name: 'npx praxis-wasm run (the demo) and its printed curl',
  async run(ctx) {
    const npx = new Background('npx', ['praxis-wasm', 'run', '--port', '0'], { cwd: ctx.consumer, env: ctx.env24 });
    try {
      const port = Number((await npx.waitFor(/gateway on http:\/\/127\.0\.0\.1:(\d+)/, 'the demo gateway', 60_000))[1]);
      const curl = (await npx.waitFor(/^\s*(curl -s http:\/\/\S+)\s*$/m, 'the first curl line', 10_000))[1]!;
      const answer = await runPrinted(curl, ctx);
      const echoed = JSON.parse(answer) as { headers?: Record<string, string> };
      if (echoed.headers?.['x-praxis-demo'] !== 'added by the request-headers filter') throw new Error(`\`${curl}\` answered without the demo's header:\n${answer}`);
      npx.child.kill('SIGTERM');
      await npx.exited;
      await eventually(async () => !(await accepts(port)), `the gateway's port ${port} to close after SIGTERM to npx`, 15_000);
      await eventually(() => !npx.groupAlive(), 'every process npx started to exit', 15_000);
    } finally {
      npx.kill();
    }
  },
};

/** The printed command itself when curl is there; the same GET through fetch when it is not. */
async function runPrinted(curl: string, ctx: PackageContext): Promise<string> {
  if (run('curl', ['--version'], { cwd: ctx.consumer }).status === 0) return runOk('sh', ['-c', curl], { cwd: ctx.consumer, timeoutMs: 15_000 }).stdout;
  const url = curl.split(/\s+/).at(-1)!;
  return (await fetch(url)).text();
}

const LIBRARY = `
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startGateway } from 'praxis-wasm';
const wasm = fileURLToPath(new URL('plugins/deny-list/dist/deny-list.wasm', import.meta.resolve('praxis-wasm/package.json')));
const upstream = createServer((req, res) => { req.resume(); req.on('end', () => res.end('upstream ok')); });
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const gateway = await startGateway({
  plugins: { deny: { path: wasm, config: { patterns: ['forbidden'] } } },
  upstreams: { u: { endpoints: ['http://127.0.0.1:' + upstream.address().port] } },
  routes: [{ name: 'all', match: { pathPrefix: '/' }, upstream: 'u', filters: ['deny'] }],
}, { port: 0, log: { level: 'warn' } });
const post = (body) => fetch(gateway.url + '/x', { method: 'POST', body }).then(async (r) => r.status + ' ' + (await r.text()));
const results = [await post('all fine'), (await post('this is forbidden')).slice(0, 3)];
await gateway.close();
upstream.close();
console.log(JSON.stringify(results));
`;

/** `import { startGateway } from 'praxis-wasm'` runs a gateway with a bundled plugin. */
export const library: Step = {
  name: "import { startGateway } from 'praxis-wasm'",
  async run(ctx) {
    const file = join(ctx.consumer, 'library.mjs');
    writeFileSync(file, LIBRARY);
    const r = runOk('node', [file], { cwd: ctx.consumer, env: ctx.env24, timeoutMs: 60_000 });
    const got = r.stdout.trim().split('\n').at(-1);
    if (got !== JSON.stringify(['200 upstream ok', '403'])) throw new Error(`expected the upstream's answer and a 403, got ${got}\n${r.stderr}`);
  },
};

const TYPES = `
import { startGateway, type Gateway, type GatewayConfig } from 'praxis-wasm';
const config: GatewayConfig = {
  plugins: {},
  upstreams: { u: { endpoints: ['http://127.0.0.1:9'] } },
  routes: [{ name: 'all', match: { pathPrefix: '/' }, upstream: 'u', filters: [] }],
};
const gateway: Gateway = await startGateway(config, { port: 0 });
const url: string = gateway.url;
// @ts-expect-error the types are precise: a URL is not a number
const wrong: number = gateway.url;
export { url, wrong };
`;

/** A TypeScript consumer typechecks against the shipped declarations (strict, libraries checked). */
export const types: Step = {
  name: 'the declarations typecheck in a TypeScript consumer',
  async run(ctx) {
    const dir = join(ctx.consumer, 'types-check');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'check.ts'), TYPES);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'nodenext', target: 'ES2023', strict: true, noEmit: true, types: ['node'], typeRoots: [join(ctx.root, 'node_modules', '@types')] },
      files: ['check.ts'],
    }));
    runOk('node', [join(ctx.root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir, env: ctx.env24 });
  },
};

const NEEDS_NODE24 = /^praxis-wasm needs Node\.js >= 24 \(found v[\d.]+\): .*JSPI.*Run it with Node 24: (.+)$/;

/** On the machine's Node, when older than 24: one line, and the command it names really works. */
export const oldNode: Step = {
  name: 'on an old Node: one line, and the command it prints works',
  async run(ctx) {
    const major = Number(runOk('node', ['-p', 'process.versions.node'], { cwd: ctx.consumer, env: ctx.envMachine }).stdout.split('.')[0]);
    if (major >= 24) {
      ctx.report.push(`old Node: skipped (this machine's node is ${major})`);
      return;
    }
    const r = run('npx', ['praxis-wasm', '--version'], { cwd: ctx.consumer, env: ctx.envMachine });
    const lines = r.stderr.trim().split('\n');
    const m = NEEDS_NODE24.exec(lines[0] ?? '');
    if (r.status !== 1 || lines.length !== 1 || !m) throw new Error(`expected exit 1 and one line naming Node 24, got ${r.status}:\n${r.stderr}`);
    const again = runOk('sh', ['-c', m[1]!], { cwd: ctx.consumer, env: ctx.envMachine, timeoutMs: 120_000 });
    if (again.stdout.trim() !== ctx.version) throw new Error(`\`${m[1]}\` printed ${again.stdout.trim()}, not ${ctx.version}`);
    ctx.report.push(`old Node ${major}: told to run \`${m[1]}\`, which works`);
  },
};
