/**
 * The JSON Schema a plugin ships for its config: a top-level custom section named
 * `praxis:config-schema` of the component (written by `praxis-wasm build` from the plugin's
 * `schema.json`, see runtime/build/config-schema.ts). Reading it is separate from the loader on
 * purpose: the loader decides whether code may run, this only finds text for the config check.
 */
import { ComponentLoadError } from './errors.ts';
import { Reader, binaryKind, sections, uleb } from './wasm-binary.ts';

export const CONFIG_SCHEMA_SECTION = 'praxis:config-schema';

/**
 * Largest embedded schema accepted. The text comes from an untrusted plugin and is compiled by
 * the host (ajv), so it is bounded before anything parses it; real schemas are a few KB.
 */
export const MAX_CONFIG_SCHEMA_BYTES = 64 * 1024;

/**
 * The embedded schema's text, or undefined when the component ships none. More than one such
 * section, a section over the size bound or text that is not UTF-8 is a ComponentLoadError
 * ('malformed'): the plugin said it has a schema, and the host cannot tell which one it meant.
 */
export function readConfigSchema(component: Uint8Array): string | undefined {
  if (binaryKind(component) !== 'component') return undefined;
  let found: string | undefined;
  for (const s of sections(component)) {
    if (s.id !== 0) continue;
    const r = new Reader(component, s.payloadStart, s.end);
    if (r.name() !== CONFIG_SCHEMA_SECTION) continue;
    if (found !== undefined) throw new ComponentLoadError('malformed', `more than one ${CONFIG_SCHEMA_SECTION} section`);
    const size = s.end - r.pos;
    if (size > MAX_CONFIG_SCHEMA_BYTES) {
      throw new ComponentLoadError('malformed', `the ${CONFIG_SCHEMA_SECTION} section is ${size} bytes (at most ${MAX_CONFIG_SCHEMA_BYTES})`);
    }
    try {
      found = new TextDecoder('utf-8', { fatal: true }).decode(component.subarray(r.pos, s.end));
    } catch {
      throw new ComponentLoadError('malformed', `the ${CONFIG_SCHEMA_SECTION} section is not UTF-8 text`);
    }
  }
  return found;
}

/** `component` with `schemaText` appended as the config-schema custom section. */
export function withConfigSchema(component: Uint8Array, schemaText: string): Uint8Array {
  if (binaryKind(component) !== 'component') throw new Error('a config schema can only be embedded in a component');
  const name = new TextEncoder().encode(CONFIG_SCHEMA_SECTION);
  const text = new TextEncoder().encode(schemaText);
  const payload = [...uleb(name.length), ...name, ...text];
  return Buffer.concat([component, Uint8Array.of(0, ...uleb(payload.length)), Uint8Array.from(payload)]);
}
