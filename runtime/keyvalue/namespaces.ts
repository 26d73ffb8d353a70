/**
 * Which namespace a plugin's store call reaches. `""` is the plugin's own, `plugin/<name>`; any
 * other name is a shared namespace, reachable only when the plugin's config grants it. Granted
 * names cannot contain `/` or `:` (the config schema), so no name a plugin passes can reach
 * another plugin's own namespace, and `<namespace>:<key>` never reads two ways.
 */
import { fail, ok } from './backend.ts';
import type { KvResult } from './types.ts';

export const pluginNamespace = (plugin: string): string => `plugin/${plugin}`;

export class NamespaceGrants {
  private readonly own: string;
  private readonly granted: ReadonlySet<string>;

  constructor(plugin: string, granted: readonly string[] = []) {
    this.own = pluginNamespace(plugin);
    this.granted = new Set(granted);
  }

  /** The prefix of every key the call may touch (`<namespace>:`), or `denied`. */
  prefix(namespace: string): KvResult<string> {
    if (namespace === '') return ok(`${this.own}:`);
    if (this.granted.has(namespace)) return ok(`${namespace}:`);
    return fail('denied', `namespace "${namespace}" is not granted to this plugin (plugins.<name>.keyvalue.namespaces)`);
  }
}
