/**
 * The versions of the praxis:filter world this host runs, and what each one's interfaces are.
 * A component is built against exactly one version (its filter export and all its praxis
 * imports carry the same one); the bindings give it the imports of that version. 0.2.0 added
 * `keyvalue` and `clock`; components built against 0.1.0 keep loading and running unchanged.
 */

export const WORLD_VERSIONS = ['0.1.0', '0.2.0'] as const;
export type WorldVersion = (typeof WORLD_VERSIONS)[number];
/** What the SDKs and `praxis-wasm build` produce now (wit/praxis.wit). */
export const CURRENT_VERSION: WorldVersion = '0.2.0';

/** The interfaces each version defines (types is used by the others, never imported alone). */
const INTERFACES: Record<WorldVersion, readonly string[]> = {
  '0.1.0': ['types', 'http-client', 'context', 'log', 'filter'],
  '0.2.0': ['types', 'http-client', 'context', 'log', 'keyvalue', 'clock', 'filter'],
};

export function isWorldVersion(v: string): v is WorldVersion {
  return (WORLD_VERSIONS as readonly string[]).includes(v);
}

/** `praxis:filter/<name>@<version>` */
export function interfaceName(name: string, version: WorldVersion): string {
  return `praxis:filter/${name}@${version}`;
}

export function filterExport(version: WorldVersion): string {
  return interfaceName('filter', version);
}

export function hasInterface(version: WorldVersion, name: string): boolean {
  return INTERFACES[version].includes(name);
}

/** Splits `praxis:filter/<name>@<version>`; undefined for anything else. */
export function parsePraxisName(item: string): { name: string; version: string } | undefined {
  const m = /^praxis:filter\/([a-z][a-z0-9-]*)@([^\s@]+)$/.exec(item);
  return m ? { name: m[1]!, version: m[2]! } : undefined;
}

/**
 * The world version of a guest core module, from its `praxis:filter/filter@<v>#configure`
 * export; undefined when it has none of a version this host runs.
 */
export function versionOfCoreExports(names: Iterable<string>): WorldVersion | undefined {
  for (const n of names) {
    const m = /^praxis:filter\/filter@([^#]+)#configure$/.exec(n);
    if (m && isWorldVersion(m[1]!)) return m[1];
  }
  return undefined;
}
