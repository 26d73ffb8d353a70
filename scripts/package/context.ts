/** What the packaging test's steps share: the checkout, the tarball, the consumer project. */
import { mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface PackageContext {
  /** The checkout being packed. */
  root: string;
  /** A temporary folder outside the checkout holding everything below. */
  work: string;
  /** The packed .tgz (set by the pack step). */
  tarball: string;
  /** An empty project, outside the checkout, that installs the tarball as a user would. */
  consumer: string;
  /** The environment of a user whose `node` is Node 24. */
  env24: NodeJS.ProcessEnv;
  /** The machine's own environment (its `node` may be older: CI's is 20). */
  envMachine: NodeJS.ProcessEnv;
  /** The package's version, from the checkout's package.json. */
  version: string;
  /** Lines for the closing summary (sizes, times). */
  report: string[];
}

/** A named part of the test; throws to fail. */
export interface Step {
  name: string;
  run(ctx: PackageContext): Promise<void>;
}

/**
 * The Node 24 that `npm ci` installed in the checkout (devDependency `node`), alone in a folder put
 * first on PATH: the consumer sees Node 24 and nothing else of the checkout.
 */
export function node24Env(root: string, work: string): NodeJS.ProcessEnv {
  const bin = join(work, 'node24-bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(realpathSync(join(root, 'node_modules', '.bin', 'node')), join(bin, 'node'));
  return { ...cleanEnv(), PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
}

/**
 * The environment without what npm puts there for the script running this test (its lifecycle
 * variables, the checkout's node_modules/.bin on PATH): a consumer has none of it. npm writes its
 * variables in lower case; a machine's own NPM_CONFIG_* (a registry, a cache) stay.
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/.test(k) && k !== 'INIT_CWD') env[k] = v;
  env.PATH = (process.env.PATH ?? '').split(delimiter).filter((p) => !p.includes('node_modules')).join(delimiter);
  return env;
}
