/**
 * What starts a reload from outside: SIGHUP, and (opt-in: `--watch-config` or `reload.watch`) a
 * watch on the config file and the plugin files it names. Either reads the file afresh, so a
 * YAML or schema error fails the reload like any other (the running version keeps serving).
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import { loadConfigFile } from '../config/load.ts';
import type { GatewayConfig } from '../config/types.ts';
import type { ConfigSource, ReloadOutcome } from '../gateway/reload.ts';

export const RELOAD_DEFAULTS = { watch: false, debounceMs: 200 } as const;

export interface Reloadable {
  reload(next: ConfigSource): Promise<ReloadOutcome>;
}

/** The config file, read when the reload runs (not when it was asked for). */
export function configFromFile(path: string): () => Promise<GatewayConfig> {
  return async () => (await loadConfigFile(path)).config;
}

/** Files a config depends on: itself and every plugin it names. */
function watchedFiles(configPath: string, config: GatewayConfig | undefined, baseDir: string): string[] {
  const plugins = Object.values(config?.plugins ?? {}).map((p) => (isAbsolute(p.path) ? p.path : resolve(baseDir, p.path)));
  return [resolve(configPath), ...plugins];
}

/**
 * Watches the folders of the config file and its plugins (a folder, not the file: an editor or a
 * build that replaces the file by a rename would end a watch on the file itself), and calls
 * `changed` once per burst of writes, `debounceMs` after the last one. After each burst the set
 * of plugin files is read again from the config, so a plugin added by the edit is watched too.
 */
export function watchConfig(configPath: string, debounceMs: number, changed: () => void, logger: Logger): { close(): void } {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let files: string[] = [resolve(configPath)];
  let stopped = false;
  const arm = async () => {
    try {
      const { config, baseDir } = await loadConfigFile(configPath);
      files = watchedFiles(configPath, config, baseDir);
    } catch {
      // A broken config keeps the last known set: the fix to it is the next change to pick up.
    }
    if (stopped) return;
    for (const w of watchers.splice(0)) w.close();
    const byDir = new Map<string, Set<string>>();
    for (const f of files) {
      const names = byDir.get(dirname(f)) ?? new Set<string>();
      byDir.set(dirname(f), names.add(basename(f)));
    }
    for (const [dir, names] of byDir) {
      try {
        watchers.push(watch(dir, (_event, name) => { if (name !== null && names.has(name.toString())) fire(); }));
      } catch (err) {
        logger.warn({ dir, err: (err as Error).message }, 'config watch: cannot watch this folder');
      }
    }
  };
  const fire = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      logger.info({ config: configPath }, 'config watch: a watched file changed; reloading');
      changed();
      void arm();
    }, debounceMs);
  };
  void arm();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      for (const w of watchers.splice(0)) w.close();
    },
  };
}

/**
 * SIGHUP (and the watch, when on) reload `target` from `configPath`, one reload at a time; those
 * asked for while one runs make one more after it. The target logs each outcome; `done` hears it too.
 */
export function reloadOnSignal(
  configPath: string, target: Reloadable, logger: Logger,
  opts: { watch: boolean; debounceMs: number; done?: (o: ReloadOutcome) => void },
): { close(): void } {
  // One reload at a time from here, and at most one more asked for behind it (it reads the file
  // when it starts): a storm of signals or writes costs two reloads, not one each, and the last
  // change is never missed.
  let running = false;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    void target.reload(configFromFile(configPath))
      .then((o) => opts.done?.(o), (err: unknown) => logger.error({ err: (err as Error).message }, 'config reload failed'))
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          run();
        }
      });
  };
  const onHup = () => {
    logger.info({ signal: 'SIGHUP', config: configPath }, 'reloading the config');
    run();
  };
  process.on('SIGHUP', onHup);
  const watcher = opts.watch ? watchConfig(configPath, opts.debounceMs, run, logger) : undefined;
  return {
    close() {
      process.off('SIGHUP', onHup);
      watcher?.close();
    },
  };
}
