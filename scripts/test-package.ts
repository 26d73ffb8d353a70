/**
 * `npm run test:package`: the npm package as a user outside the checkout gets it. Packs the
 * checkout, installs the tarball into an empty project in a temporary folder, then runs each step
 * of STEPS against that install, in order; the first failure stops the run (exit 1) and keeps the
 * folder for a look. Prints the tarball and install sizes and each step's time.
 *
 * A step is a `{ name, run(ctx) }` (scripts/package/context.ts); add one by appending it to STEPS.
 * `--keep` keeps the temporary folder after a passing run too.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv, node24Env, type PackageContext, type Step } from './package/context.ts';
import { demo, install, library, oldNode, pack, types } from './package/steps.ts';
import { scaffoldAssemblyScript, scaffoldRust } from './package/scaffold.ts';

const STEPS: Step[] = [
  pack,
  install,
  demo,
  library,
  types,
  scaffoldAssemblyScript,
  scaffoldRust,
  oldNode,
];

async function main(): Promise<number> {
  const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
  // realpath: a folder outside the checkout, named as npm and Node will name it.
  const work = await realpath(await mkdtemp(join(tmpdir(), 'praxis-package-')));
  const ctx: PackageContext = {
    root, work, tarball: '', consumer: join(work, 'consumer'),
    env24: node24Env(root, work), envMachine: cleanEnv(),
    version: (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version,
    report: [],
  };
  const started = Date.now();
  for (const step of STEPS) {
    const t = Date.now();
    try {
      await step.run(ctx);
    } catch (err) {
      console.error(`FAIL ${step.name}: ${(err as Error).message}`);
      console.error(`(kept ${work} for a look)`);
      return 1;
    }
    console.error(`ok   ${step.name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
  for (const line of ctx.report) console.error(`     ${line}`);
  console.error(`package test passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (!process.argv.includes('--keep')) await rm(work, { recursive: true, force: true });
  else console.error(`kept ${work}`);
  return 0;
}

process.exitCode = await main();
