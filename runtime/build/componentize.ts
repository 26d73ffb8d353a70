import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { componentEmbed, componentNew } from '@bytecodealliance/jco';
import { CURRENT_VERSION, type WorldVersion } from '../component/world-version.ts';

/** The WIT package every praxis filter is built against. */
export const WIT_PATH = fileURLToPath(new URL('../../wit/praxis.wit', import.meta.url));
export const WORLD = 'plugin';

/** The WIT of each world version: the current one, and the kept text of the older ones (compat builds). */
export function witPathFor(version: WorldVersion): string {
  return version === CURRENT_VERSION ? WIT_PATH : fileURLToPath(new URL(`../../wit/${version}/praxis.wit`, import.meta.url));
}

/**
 * Turns a core module that follows docs/abi.md into a praxis:filter component: embeds the
 * WIT as the component-type custom section, then wraps it with wit-component.
 * (`jco embed --wit` on the command line panics; the JS API does not.) `witPath`: the WIT the
 * guest's SDK was written for (an installed AssemblyScript SDK carries its own).
 */
export async function componentize(core: Uint8Array, witPath: string = WIT_PATH): Promise<Uint8Array> {
  const witSource = await readFile(witPath, 'utf8');
  const embedded = await componentEmbed({ binary: core, witSource, world: WORLD, stringEncoding: 'utf8' });
  return componentNew(embedded, []);
}
