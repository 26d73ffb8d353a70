/**
 * Builds a JavaScript plugin (`<dir>/filter.js`, an ES module exporting `filter`) into a
 * praxis:filter component with @bytecodealliance/componentize-js (StarlingMonkey + wizer,
 * offline). The engine imports WASI (clocks, random, stdio, filesystem types): the gateway
 * runs such a component on the jco binding with the restricted WASI of
 * runtime/component/wasi.ts. `http` and `fetch-event` are disabled: they would import
 * wasi:http, which the gateway refuses (outbound calls go through praxis:filter/http-client).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WIT_PATH, WORLD } from './componentize.ts';
import { embedConfigSchema } from './config-schema.ts';

interface ComponentizeResult { component: Uint8Array }
type Componentize = (opts: {
  sourcePath: string;
  witWorld: string;
  worldName: string;
  disableFeatures: string[];
}) => Promise<ComponentizeResult>;

export async function buildJavaScript(dir: string, out: string): Promise<void> {
  const { componentize } = (await import('@bytecodealliance/componentize-js')) as unknown as { componentize: Componentize };
  // witWorld (the text), not witPath: the splicer runs sandboxed and cannot open host paths.
  const { component } = await componentize({
    sourcePath: join(dir, 'filter.js'),
    witWorld: await readFile(WIT_PATH, 'utf8'),
    worldName: WORLD,
    disableFeatures: ['http', 'fetch-event'],
  });
  await writeFile(out, await embedConfigSchema(dir, component));
}
