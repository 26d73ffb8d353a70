/**
 * Which AssemblyScript SDK a plugin folder builds against, and with which compiler.
 * - installed: the plugin folder (or a folder above it) has the npm package
 *   `praxis-wasm-sdk-assemblyscript` in node_modules, and the plugin imports it by that name.
 *   The package carries the WIT it was written for and depends on the asc it was tested with.
 * - checkout: the plugin imports `sdk-assemblyscript/assembly` by relative path inside a
 *   praxis-wasm checkout (the bundled plugins and fixtures).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The npm name of the AssemblyScript SDK; plugins import it by this name. */
export const AS_SDK_PACKAGE = 'praxis-wasm-sdk-assemblyscript';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface AssemblyScriptSdk {
  kind: 'installed' | 'checkout';
  /** The SDK's folder (holds assembly/ and, installed, wit/ and package.json). */
  root: string;
  /** The WIT the SDK's glue implements. */
  witPath: string;
  version: string;
}

/** The installed SDK package the plugin folder resolves, as Node would resolve it from there. */
function installedSdk(dir: string): AssemblyScriptSdk | undefined {
  let pkgJson: string;
  try {
    pkgJson = createRequire(join(resolve(dir), 'package.json')).resolve(`${AS_SDK_PACKAGE}/package.json`);
  } catch {
    return undefined;
  }
  const root = dirname(pkgJson);
  const { version } = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string };
  return { kind: 'installed', root, witPath: join(root, 'wit', 'praxis.wit'), version };
}

function checkoutSdk(): AssemblyScriptSdk | undefined {
  const root = join(ROOT, 'sdk-assemblyscript');
  if (!existsSync(join(root, 'assembly', 'exports.ts'))) return undefined;
  const pkg = join(root, 'package.json');
  const version = existsSync(pkg) ? (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version : '0.0.0';
  return { kind: 'checkout', root, witPath: join(ROOT, 'wit', 'praxis.wit'), version };
}

/** True when the plugin's entry imports the SDK by its package name. */
function importsByName(dir: string): boolean {
  const entry = join(dir, 'assembly', 'index.ts');
  return existsSync(entry) && readFileSync(entry, 'utf8').includes(`"${AS_SDK_PACKAGE}`);
}

export function resolveAssemblyScriptSdk(dir: string): AssemblyScriptSdk {
  const installed = installedSdk(dir);
  if (installed) return installed;
  const checkout = importsByName(dir) ? undefined : checkoutSdk();
  if (checkout) return checkout;
  throw new Error(`${dir}: the AssemblyScript SDK is not installed; run \`npm install --save-dev ${AS_SDK_PACKAGE}\` in the plugin folder`);
}

type Asc = typeof import('assemblyscript/asc').default;

/** The SDK's own asc (its dependency), else the one installed with praxis-wasm. */
export async function loadAsc(sdk: AssemblyScriptSdk): Promise<Asc> {
  if (sdk.kind === 'installed') {
    try {
      const path = createRequire(join(sdk.root, 'package.json')).resolve('assemblyscript/asc');
      return ((await import(pathToFileURL(path).href)) as { default: Asc }).default;
    } catch {
      // fall through: an SDK linked from a checkout may rely on the runtime's asc
    }
  }
  try {
    return (await import('assemblyscript/asc')).default;
  } catch {
    throw new Error(`the AssemblyScript compiler was not found; it comes with ${AS_SDK_PACKAGE} (npm install --save-dev ${AS_SDK_PACKAGE})`);
  }
}
