/** Loads every plugin a config names into a pool; any failure stops the start, naming the plugin. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import { loadComponent } from '../component/loader.ts';
import type { HostCalls } from '../component/types.ts';
import { noKeyValue } from '../keyvalue/no-store.ts';
import { systemClockCalls } from '../component/host-clock.ts';
import { envValueHider, resolveEnvRefs } from '../config/env-refs.ts';
import { checkPluginConfig } from '../config/plugin-config.ts';
import type { PluginConfig } from '../config/types.ts';
import type { ChainFilter } from '../pipeline/filter.ts';
import { type GuestPolicy, configureLog, guestPolicy } from '../pipeline/guest-limits.ts';
import { DEFAULT_EJECTION, Ejection } from '../pool/ejection.ts';
import { DEFAULT_POOL_LIMITS, PluginPool } from '../pool/plugin-pool.ts';

export class PluginLoadError extends Error {
  readonly plugin: string;
  constructor(plugin: string, reason: string) {
    super(`plugin "${plugin}" failed to load: ${reason}`);
    this.name = 'PluginLoadError';
    this.plugin = plugin;
  }
}

/** configure() runs outside any request: it may log, but not call out or use the store. */
function configureHost(logger: Logger, guest: GuestPolicy, hide: (text: string) => string): HostCalls {
  const log = configureLog(logger, guest);
  const refuse = { ok: false as const, error: { tag: 'denied' as const, reason: 'no sub-requests during configure' } };
  return {
    httpSubrequest: async () => refuse,
    httpSubrequestAll: async (reqs) => reqs.map(() => refuse),
    contextGet: () => undefined,
    contextSet: () => {},
    log: (level, msg) => log(level, hide(msg)),
    ...noKeyValue('no key-value store during configure'), ...systemClockCalls,
  };
}

/** Where a loaded plugin came from, as the admin `/plugins` view reports it. */
export interface PluginOrigin {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly binding: 'fast' | 'jco';
}

/** A chain filter with its origin. */
export type LoadedPlugin = ChainFilter & { readonly origin: PluginOrigin };

export function configText(config: unknown): string {
  if (config === undefined) return '{}';
  return typeof config === 'string' ? config : JSON.stringify(config);
}

export async function loadPlugin(name: string, cfg: PluginConfig, baseDir: string, logger: Logger, cacheDir?: string): Promise<LoadedPlugin> {
  const path = isAbsolute(cfg.path) ? cfg.path : resolve(baseDir, cfg.path);
  const log = logger.child({ plugin: name });
  // A `${NAME}` value the plugin echoes (configure error, configure log) goes out as `${NAME}`.
  const hide = envValueHider(cfg.config);
  try {
    const loaded = await loadComponent(path, {
      memoryLimitBytes: (cfg.memoryLimitMb ?? 64) * 1024 * 1024,
      binding: cfg.binding ?? 'auto',
      ...(cfg.sha256 ? { sha256: cfg.sha256 } : {}),
      ...(cfg.maxLoopIterations !== undefined ? { maxLoopIterations: cfg.maxLoopIterations } : {}),
      ...(cfg.cpuBudgetMs !== undefined ? { cpuBudgetMs: cfg.cpuBudgetMs } : {}),
      ...(cfg.tableLimit !== undefined ? { tableLimit: cfg.tableLimit } : {}),
      trusted: cfg.trusted ?? false,
      ...(cacheDir ? { cacheDir } : {}),
    });
    // The plugin's config against the schema it ships (if any), before configure() sees it.
    const bytes = await readFile(path);
    if (createHash('sha256').update(bytes).digest('hex') !== loaded.sha256) throw new Error('the file changed while it was being loaded');
    // `${NAME}` strings come from the host's environment (secrets stay out of the config file).
    const config = resolveEnvRefs(cfg.config, `plugins.${name}.config`);
    checkPluginConfig(name, bytes, config);
    const limits = { ...DEFAULT_POOL_LIMITS, ...cfg.pool };
    const ejection = new Ejection(name, { ...DEFAULT_EJECTION, ...cfg.ejection }, log);
    const guest = guestPolicy(cfg.limits);
    const pool = await PluginPool.create(name, loaded.factory, configText(config), limits, configureHost(log, guest, hide), ejection);
    log.info({ path, sha256: loaded.sha256, bytes: loaded.bytes, world: `praxis:filter@${loaded.version}`, binding: loaded.factory.binding, why: loaded.fastPathObstacle, info: pool.info }, 'plugin loaded');
    if (loaded.unboundedLoops) log.warn({ path }, `no CPU budget for part of this trusted plugin: ${loaded.unboundedLoops}; a hook stuck there would stall the gateway`);
    return {
      name, pool, info: pool.info, failure: cfg.failure ?? 'closed', guest,
      origin: { path, sha256: loaded.sha256, bytes: loaded.bytes, binding: loaded.factory.binding },
      subrequests: {
        plugin: name,
        allowedHosts: cfg.allowedHosts ?? [],
        maxInFlight: cfg.subrequests?.maxInFlight ?? 64,
        ...(cfg.subrequests?.timeoutMs !== undefined ? { timeoutMs: cfg.subrequests.timeoutMs } : {}),
        ...(cfg.subrequests?.maxResponseBytes !== undefined ? { maxResponseBytes: cfg.subrequests.maxResponseBytes } : {}),
      },
    };
  } catch (err) {
    throw new PluginLoadError(name, hide((err as Error).message));
  }
}
