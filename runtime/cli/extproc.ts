/** `praxis-wasm extproc`: the config's routes and plugins as an Envoy external processor (gRPC). */
import { ConfigError, loadConfigFile } from '../config/load.ts';
import { PluginLoadError } from '../gateway/plugins.ts';
import { type ExtProcServer, startExtProc } from '../extproc/server.ts';
import { type TracingHandle, tracingFromConfig } from '../observability/tracing-setup.ts';
import { stopWithLauncher } from './launcher-watch.ts';
import { listenProblem } from './listen-error.ts';
import { RELOAD_DEFAULTS, reloadOnSignal } from './reload-signal.ts';

export interface ExtProcCliOptions { config: string; port?: number; host?: string; watchConfig?: boolean }

export async function extprocCommand(opts: ExtProcCliOptions): Promise<void> {
  stopWithLauncher();
  let server: ExtProcServer;
  let reloadConfig: { watch?: boolean; debounceMs?: number } | undefined;
  let tracing: TracingHandle | undefined;
  try {
    const { config, baseDir } = await loadConfigFile(opts.config);
    reloadConfig = config.reload;
    tracing = await tracingFromConfig(config.tracing);
    server = await startExtProc(config, { baseDir, ...(opts.port !== undefined ? { port: opts.port } : {}), ...(opts.host ? { host: opts.host } : {}) });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PluginLoadError) console.error(err.message);
    else console.error(`praxis-wasm extproc: cannot start: ${listenProblem(err) ?? (err as Error).message}`);
    process.exit(1);
  }
  console.error(`praxis-wasm: ext_proc service on ${server.address} (config ${opts.config})${server.adminUrl ? `, admin on ${server.adminUrl}` : ''}`);
  const reloads = reloadOnSignal(opts.config, server, server.logger, {
    watch: opts.watchConfig === true || (reloadConfig?.watch ?? RELOAD_DEFAULTS.watch),
    debounceMs: reloadConfig?.debounceMs ?? RELOAD_DEFAULTS.debounceMs,
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, 'shutting down: finishing open streams');
    reloads.close();
    server.close().then(() => tracing?.shutdown()).then(() => process.exit(0), (err: Error) => {
      console.error(`shutdown failed: ${err.message}`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
