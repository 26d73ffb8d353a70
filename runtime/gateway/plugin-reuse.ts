/**
 * The plugins of a reloaded config. A plugin whose path, file (by sha256) and settings are all
 * unchanged keeps its loaded component AND its pool: the reload costs it nothing (no instance
 * made or configured again, its ejection record kept), and during the drain old and new
 * exchanges share one set of warm instances rather than holding two. Any other plugin is loaded
 * and warmed afresh, so a changed file or config never serves from an old instance.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { PluginConfig } from '../config/types.ts';
import { sameJson } from './config-version.ts';
import type { LoadedPlugin } from './plugins.ts';

export interface RunningPlugins {
  readonly config: Readonly<Record<string, PluginConfig>>;
  readonly filters: ReadonlyMap<string, LoadedPlugin>;
}

async function fileSha256(path: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFile(path)).digest('hex');
  } catch {
    return undefined; // unreadable now: loaded afresh, which reports why
  }
}

async function unchanged(name: string, cfg: PluginConfig, running: RunningPlugins, baseDir: string): Promise<LoadedPlugin | undefined> {
  const was = running.filters.get(name);
  if (!was || !sameJson(running.config[name], cfg)) return undefined;
  const path = isAbsolute(cfg.path) ? cfg.path : resolve(baseDir, cfg.path);
  if (path !== was.origin.path) return undefined;
  return (await fileSha256(path)) === was.origin.sha256 ? was : undefined;
}

/**
 * Every plugin of `next`, kept or loaded; on any failure the pools loaded here are closed again
 * and the error (a PluginLoadError naming the plugin) is thrown: the running ones are untouched.
 */
export async function pluginsForReload(
  next: Readonly<Record<string, PluginConfig>>, running: RunningPlugins, baseDir: string,
  load: (name: string, cfg: PluginConfig) => Promise<LoadedPlugin>,
): Promise<{ filters: Map<string, LoadedPlugin>; kept: Set<string> }> {
  const filters = new Map<string, LoadedPlugin>();
  const kept = new Set<string>();
  try {
    for (const [name, cfg] of Object.entries(next)) {
      const same = await unchanged(name, cfg, running, baseDir);
      if (same) kept.add(name);
      filters.set(name, same ?? await load(name, cfg));
    }
    await warmed(filters, kept);
  } catch (err) {
    await closeFresh(filters, kept);
    throw err;
  }
  return { filters, kept };
}

/** Longest a new pool may take to make its `pool.min` instances before the reload gives up. */
const WARM_MS = 10_000;

/**
 * Waits until every new pool holds its `pool.min` instances (the load made and configured one;
 * the pool makes the rest in the background), so the swap never puts a cold pool in front of
 * traffic: what `/readyz` asks at start-up, asked before the swap.
 */
async function warmed(filters: ReadonlyMap<string, LoadedPlugin>, kept: ReadonlySet<string>): Promise<void> {
  const end = Date.now() + WARM_MS;
  for (const [name, f] of filters) {
    if (kept.has(name)) continue;
    // Made and configured: generic-pool's `size` also counts instances still being created.
    for (let s = f.pool.stats(); s.available + s.borrowed < s.min; s = f.pool.stats()) {
      if (Date.now() > end) throw new Error(`plugin "${name}": its pool did not warm (${s.available + s.borrowed}/${s.min} instances) within ${WARM_MS} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** Closes the pools of `filters` that were loaded for this reload (not the kept ones). */
export async function closeFresh(filters: ReadonlyMap<string, LoadedPlugin>, kept: ReadonlySet<string>): Promise<void> {
  await Promise.all([...filters].filter(([name]) => !kept.has(name)).map(([, f]) => f.pool.close()));
}
