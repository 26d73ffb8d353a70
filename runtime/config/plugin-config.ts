/**
 * A plugin's own config (`plugins.<name>.config`) checked against the JSON Schema the plugin
 * ships (runtime/component/plugin-schema.ts), with the same key-path lines as the gateway config.
 *
 * The schema comes from an untrusted plugin and ajv turns it into code, so it is bounded first:
 * its size by the section reader, its nesting here, and it must pass the draft's meta-schema.
 * Each plugin gets its own ajv instance: two plugins may use the same `$id`.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { readConfigSchema } from '../component/plugin-schema.ts';
import { describe } from './problems.ts';

/** Deepest nesting of objects/arrays accepted in a plugin's schema (real ones use under 10). */
export const MAX_SCHEMA_DEPTH = 32;

/** The embedded schema cannot be used: not JSON, too deep, or not a valid JSON Schema. */
export class PluginSchemaError extends Error {
  constructor(reason: string) {
    super(`its embedded config schema is malformed: ${reason}`);
    this.name = 'PluginSchemaError';
  }
}

function depthOf(value: unknown, limit: number, depth = 0): number {
  if (depth > limit || value === null || typeof value !== 'object') return depth;
  let deepest = depth;
  for (const v of Object.values(value)) deepest = Math.max(deepest, depthOf(v, limit, depth + 1));
  return deepest;
}

function isAbsoluteUrl(text: string): boolean {
  return URL.canParse(text);
}

/** The ajv flavour the schema's `$schema` names (draft-07 when it names none). */
function ajvFor(schema: object): Ajv {
  const dialect = String((schema as { $schema?: unknown }).$schema ?? '');
  // `format`: only `uri` is checked (the one plugin configs use: service URLs); other formats are
  // ignored, without ajv's console warnings (logger: false).
  const opts = { allErrors: true, strict: false, verbose: true, logger: false, formats: { uri: isAbsoluteUrl } } as const;
  if (dialect.includes('2020-12')) return new Ajv2020(opts);
  if (dialect.includes('2019-09')) return new Ajv2019(opts);
  return new Ajv(opts);
}

/** Compiles a plugin's schema text, or throws PluginSchemaError saying what is wrong with it. */
export function compilePluginSchema(text: string): ValidateFunction {
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    throw new PluginSchemaError(`not JSON (${(err as Error).message})`);
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new PluginSchemaError('not a JSON object');
  if (depthOf(schema, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH) throw new PluginSchemaError(`nested more than ${MAX_SCHEMA_DEPTH} levels deep`);
  try {
    return ajvFor(schema).compile(schema);
  } catch (err) {
    throw new PluginSchemaError((err as Error).message.split('\n')[0]!);
  }
}

/**
 * Problems of `config` (the value under plugins.<name>.config; a string is the JSON text the
 * filter will get) against the plugin's schema, each line naming its key path. Empty when valid.
 */
export function pluginConfigProblems(name: string, validate: ValidateFunction, config: unknown): string[] {
  const prefix = `plugins.${name}.config`;
  let value: unknown = config ?? {};
  if (typeof config === 'string') {
    try {
      value = JSON.parse(config);
    } catch {
      return [`${prefix}: not JSON text, and the plugin's schema describes JSON`];
    }
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => describe(e, prefix));
}

/** The plugin's config does not match the schema it ships; `problems` name the key paths. */
export class PluginConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`its config does not match the plugin's schema:\n  ${problems.join('\n  ')}`);
    this.name = 'PluginConfigError';
    this.problems = problems;
  }
}

/**
 * Checks `config` against the schema embedded in `component`, if it ships one; throws
 * PluginSchemaError (unusable schema) or PluginConfigError (config does not match). Returns the
 * schema text (undefined when there is none).
 */
export function checkPluginConfig(name: string, component: Uint8Array, config: unknown): string | undefined {
  const text = readConfigSchema(component);
  if (text === undefined) return undefined;
  const problems = pluginConfigProblems(name, compilePluginSchema(text), config);
  if (problems.length) throw new PluginConfigError(problems);
  return text;
}
