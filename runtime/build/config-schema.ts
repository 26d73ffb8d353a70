/**
 * `schema.json` beside a plugin's source (its folder) is the JSON Schema of its config: checked
 * here as the host will check it at load, then embedded in the component as the
 * `praxis:config-schema` custom section, so the schema travels with the .wasm.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_CONFIG_SCHEMA_BYTES, withConfigSchema } from '../component/plugin-schema.ts';
import { compilePluginSchema } from '../config/plugin-config.ts';

export const SCHEMA_FILE = 'schema.json';

/** The schema's minified text, or undefined when the plugin has no schema.json. */
export async function readPluginSchema(dir: string): Promise<string | undefined> {
  const file = join(dir, SCHEMA_FILE);
  if (!existsSync(file)) return undefined;
  const source = await readFile(file, 'utf8');
  try {
    compilePluginSchema(source);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message.replace(/^its embedded config schema is malformed: /, 'not a usable JSON Schema: ')}`);
  }
  const text = JSON.stringify(JSON.parse(source));
  const size = Buffer.byteLength(text);
  if (size > MAX_CONFIG_SCHEMA_BYTES) throw new Error(`${file}: ${size} bytes minified; the host accepts at most ${MAX_CONFIG_SCHEMA_BYTES}`);
  return text;
}

/** `component` with the plugin's schema embedded, or as is when it has none. */
export async function embedConfigSchema(dir: string, component: Uint8Array): Promise<Uint8Array> {
  const text = await readPluginSchema(dir);
  return text === undefined ? component : withConfigSchema(component, text);
}
