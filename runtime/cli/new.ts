/**
 * `praxis-wasm new <name> --lang rust|assemblyscript [--subrequest]`: a plugin folder that builds,
 * passes its own tests and runs in a gateway as it is. Files come from templates/ (shared per
 * variant, then per language), with {{placeholders}} filled in. The SDKs are named by version;
 * `--sdk-path` points at a local SDK instead, for developing the SDKs themselves.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FILTER_EXPORT } from '../component/loader.ts';
import { AS_SDK_PACKAGE } from '../build/assemblyscript-sdk.ts';

export type Lang = 'rust' | 'assemblyscript';
export const LANGS: readonly Lang[] = ['rust', 'assemblyscript'];

export interface NewOptions {
  lang: Lang;
  subrequest?: boolean;
  /** A local SDK (folder, or for AssemblyScript a packed .tgz) instead of the published one. */
  sdkPath?: string;
}

/** Plugin, npm and crate names alike: lower case, digits and dashes. */
const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** The folder holding templates/: the repository root, or the installed package's. */
function templatesRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'templates', 'assemblyscript'))) return join(dir, 'templates');
    const parent = dirname(dir);
    if (parent === dir) throw new Error('praxis-wasm: the scaffold templates are missing from this installation');
    dir = parent;
  }
}

function praxisVersion(templates: string): string {
  const pkg = JSON.parse(readFileSync(join(templates, '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** The WIT version the runtime implements: the SDK versions follow it. */
const WIT_VERSION = FILTER_EXPORT.slice(FILTER_EXPORT.indexOf('@') + 1);

const pascal = (name: string) => name.split('-').map((p) => p[0]!.toUpperCase() + p.slice(1)).join('');

function placeholders(name: string, opts: NewOptions, templates: string): Record<string, string> {
  const sdk = opts.sdkPath === undefined ? undefined : resolve(opts.sdkPath);
  if (sdk !== undefined && !existsSync(sdk)) throw new Error(`--sdk-path ${opts.sdkPath}: no such file or folder`);
  const sdkDependency = opts.lang === 'rust'
    ? (sdk ? `praxis-filter = { path = ${JSON.stringify(sdk)} }` : `praxis-filter = "${WIT_VERSION}"`)
    : (sdk ? `file:${sdk}` : `^${WIT_VERSION}`);
  const sub = opts.subrequest === true;
  return {
    name,
    className: pascal(name),
    sdkDependency,
    praxisDependency: `^${praxisVersion(templates)}`,
    newFlags: sub ? ' --subrequest' : '',
    tryArgs: sub ? `-c '{"authUrl":"http://auth.test/check"}' -H 'authorization: Bearer t' --mock mocks.json` : `-H 'x-block: 1'`,
    mocksRow: sub ? '\n| `mocks.json` | sub-request answers for `praxis-wasm try --mock` |' : '',
  };
}

/** `{{key}}` -> value; in JSON files the value is escaped as JSON string content. */
function fill(text: string, values: Record<string, string>, json: boolean): string {
  return text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => {
    const v = values[key];
    if (v === undefined) return whole;
    return json ? JSON.stringify(v).slice(1, -1) : v;
  });
}

async function* files(dir: string, prefix = ''): AsyncGenerator<string> {
  if (!existsSync(dir)) return;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) yield* files(join(dir, e.name), rel);
    else yield rel;
  }
}

/** Writes the plugin folder; returns its path and the files written (relative, sorted). */
export async function scaffold(target: string, opts: NewOptions): Promise<{ dir: string; name: string; files: string[] }> {
  const dir = resolve(target);
  const name = basename(dir);
  if (!NAME.test(name) || name.length > 64) {
    throw new Error(`"${name}" is not a plugin name: use lower-case letters, digits and single dashes, starting with a letter (at most 64)`);
  }
  if (!LANGS.includes(opts.lang)) throw new Error(`--lang ${String(opts.lang)}: expected one of ${LANGS.join(', ')}`);
  if (existsSync(dir) && (await readdir(dir)).length > 0) throw new Error(`${dir} exists and is not empty; pick another name or folder`);
  const templates = templatesRoot();
  const values = placeholders(name, opts, templates);
  const variant = opts.subrequest ? 'subrequest' : 'basic';
  // Later layers win: shared variant files, then the language's common files, then its variant.
  const layers = [join(templates, 'shared', variant), join(templates, opts.lang, 'common'), join(templates, opts.lang, variant)];
  const out = new Map<string, string>();
  for (const layer of layers) {
    for await (const rel of files(layer)) out.set(rel === 'gitignore' ? '.gitignore' : rel, join(layer, rel));
  }
  for (const [rel, src] of out) {
    const text = fill(await readFile(src, 'utf8'), values, rel.endsWith('.json'));
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
  return { dir, name, files: [...out.keys()].sort() };
}

export async function newCommand(target: string, opts: NewOptions): Promise<void> {
  try {
    const { dir, name, files: written } = await scaffold(target, opts);
    const where = relative(process.cwd(), dir) || '.';
    const steps = opts.lang === 'assemblyscript'
      ? ['npm install', 'npm test', 'npm run try']
      : ['cargo test', 'npx praxis-wasm build .', `npx praxis-wasm try dist/${name}.wasm ${placeholders(name, opts, templatesRoot()).tryArgs}`];
    console.log(`created ${opts.lang} filter ${name} in ${where}: ${written.join(', ')}`);
    console.log(`next:\n  cd ${where}\n${steps.map((s) => `  ${s}`).join('\n')}\n  # then run it in a gateway: see praxis.yaml`);
    if (opts.lang === 'assemblyscript' && opts.sdkPath === undefined) console.log(`  (the SDK comes from npm as ${AS_SDK_PACKAGE}; --sdk-path uses a local one)`);
  } catch (err) {
    console.error(`new failed: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
