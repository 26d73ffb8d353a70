/**
 * Reads and validates a gateway config. Every error names the key path and what was expected;
 * an invalid config changes nothing (nothing is started).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { parseEntry } from '../subrequest/allow-list.ts';
import { ROUTE_SCHEME, isRouteUrl } from '../subrequest/route-target.ts';
import { describe } from './problems.ts';
import type { GatewayConfig, UpstreamConfig } from './types.ts';

const schema = JSON.parse(readFileSync(new URL('./schema.json', import.meta.url), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false, verbose: true }).compile<GatewayConfig>(schema);

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`invalid config ${source}:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Cross-references the schema cannot express. */
function crossCheck(c: GatewayConfig): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  c.routes.forEach((r, i) => {
    if (seen.has(r.name)) problems.push(`routes[${i}].name: duplicate route name "${r.name}"`);
    seen.add(r.name);
    if (!c.upstreams[r.upstream]) problems.push(`routes[${i}].upstream: no upstream named "${r.upstream}" (have: ${Object.keys(c.upstreams).join(', ')})`);
    (r.filters ?? []).forEach((f, j) => {
      if (!c.plugins?.[f]) problems.push(`routes[${i}].filters[${j}]: no plugin named "${f}"`);
    });
  });
  for (const [name, u] of Object.entries(c.upstreams)) problems.push(...upstreamProblems(name, u, c));
  for (const [name, p] of Object.entries(c.plugins ?? {})) {
    if (p.pool?.min !== undefined && p.pool.max !== undefined && p.pool.min > p.pool.max) {
      problems.push(`plugins.${name}.pool.min: must not exceed pool.max (${p.pool.max})`);
    }
    if (Array.isArray(p.allowedHosts)) {
      p.allowedHosts.forEach((entry, i) => {
        // `route://<name>` grants sub-requests through that route of this gateway (docs/orchestration.md).
        if (typeof entry === 'string' && isRouteUrl(entry)) {
          const route = entry.slice(ROUTE_SCHEME.length).replace(/\/$/, '');
          if (!c.routes.some((r) => r.name === route)) problems.push(`plugins.${name}.allowedHosts[${i}]: no route named "${route}"`);
          return;
        }
        const parsed = typeof entry === 'string' ? parseEntry(entry) : undefined;
        if (parsed?.ok === false) problems.push(`plugins.${name}.allowedHosts[${i}]: ${parsed.problem} in ${JSON.stringify(entry)}`);
      });
    }
    const ej = p.ejection;
    if (ej?.baseMs !== undefined && ej.maxMs !== undefined && ej.baseMs > ej.maxMs) {
      problems.push(`plugins.${name}.ejection.baseMs: must not exceed ejection.maxMs (${ej.maxMs})`);
    }
  }
  return problems;
}

/** Cross-references of a config that failed the schema, as far as its shape allows. */
function crossCheckLoosely(value: unknown): string[] {
  try {
    return crossCheck(value as GatewayConfig);
  } catch {
    return [];
  }
}

export function validateConfig(value: unknown, source = '(inline)'): GatewayConfig {
  if (!validate(value)) {
    // Report every problem at once: the schema's, then the cross-references it could check.
    const problems = (validate.errors ?? []).map((e) => describe(e));
    throw new ConfigError(source, [...problems, ...crossCheckLoosely(value).filter((p) => !problems.includes(p))]);
  }
  const problems = crossCheck(value);
  if (problems.length) throw new ConfigError(source, problems);
  return value;
}

export interface LoadedConfig {
  config: GatewayConfig;
  /** Folder relative plugin paths are resolved against. */
  baseDir: string;
}

export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new ConfigError(path, [`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  return { config: validateConfig(value, path), baseDir: dirname(resolve(path)) };
}

function urlProblems(at: string, endpoints: readonly string[]): string[] {
  const problems: string[] = [];
  endpoints.forEach((e, i) => {
    try {
      new URL(e);
    } catch {
      problems.push(`${at}[${i}]: not a valid URL`);
    }
  });
  return problems;
}

/** An upstream names its endpoints one way (`endpoints` or `backends`); backends are unique and their filters exist. */
function upstreamProblems(name: string, u: UpstreamConfig, c: GatewayConfig): string[] {
  const problems: string[] = [];
  if ((u.endpoints === undefined) === (u.backends === undefined)) {
    problems.push(`upstreams.${name}: needs exactly one of "endpoints" or "backends"`);
  }
  problems.push(...urlProblems(`upstreams.${name}.endpoints`, u.endpoints ?? []));
  const names = new Set<string>();
  (u.backends ?? []).forEach((b, i) => {
    if (names.has(b.name)) problems.push(`upstreams.${name}.backends[${i}].name: duplicate backend name "${b.name}"`);
    names.add(b.name);
    problems.push(...urlProblems(`upstreams.${name}.backends[${i}].endpoints`, b.endpoints));
    (b.upstreamFilters ?? []).forEach((f, j) => {
      if (!c.plugins?.[f]) problems.push(`upstreams.${name}.backends[${i}].upstreamFilters[${j}]: no plugin named "${f}"`);
    });
  });
  const od = u.outlierDetection;
  if (od?.baseEjectionMs !== undefined && od.maxEjectionMs !== undefined && od.baseEjectionMs > od.maxEjectionMs) {
    problems.push(`upstreams.${name}.outlierDetection.baseEjectionMs: must not exceed outlierDetection.maxEjectionMs (${od.maxEjectionMs})`);
  }
  return problems;
}
