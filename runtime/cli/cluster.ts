/**
 * `praxis-wasm run --config FILE --workers N`: one gateway per core on node:cluster. The workers
 * share the listening socket; each loads its own plugins and pools. The primary owns the admin
 * listener (metrics aggregated across workers with prom-client's AggregatorRegistry), replaces a
 * worker that dies, and on SIGTERM lets every worker finish its in-flight requests.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { pino } from 'pino';
import { ConfigError, loadConfigFile } from '../config/load.ts';
import { startAdmin } from '../gateway/admin.ts';
import { redactConfig } from '../gateway/admin-redact.ts';
import { startGateway } from '../gateway/gateway.ts';
import { PluginLoadError } from '../gateway/plugins.ts';
import { tracingFromConfig } from '../observability/tracing-setup.ts';
import { askWorkers, answerPluginQueries, type PluginsQuery, workerReady } from './cluster-admin.ts';
import { answerReloads, type ReloadAnswer, reloadWorkers } from './cluster-reload.ts';
import { effectiveConfig } from '../gateway/config-version.ts';
import { RELOAD_DEFAULTS, configFromFile, reloadOnSignal } from './reload-signal.ts';
import type { ReloadOutcome } from '../gateway/reload.ts';
import type { GatewayConfig } from '../config/types.ts';

export interface ClusterOptions { config: string; workers: number; port?: number; host?: string; watchConfig?: boolean }

type WorkerMessage = { type: 'ready'; url: string } | { type: 'failed'; message: string } | PluginsQuery | ReloadAnswer;

/** A worker that dies this soon after starting is not restarted: it would only die again. */
const EARLY_DEATH_MS = 5_000;

async function runWorker(opts: ClusterOptions): Promise<void> {
  const send = (m: WorkerMessage) => process.send?.(m);
  try {
    const { config, baseDir } = await loadConfigFile(opts.config);
    const tracing = await tracingFromConfig(config.tracing);
    const gateway = await startGateway(config, {
      baseDir, admin: false,
      log: { level: config.log?.level ?? 'info' },
      ...(opts.port !== undefined ? { port: opts.port } : {}), ...(opts.host ? { host: opts.host } : {}),
    });
    // Constructing one installs prom-client's listener for the primary's metric requests.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([gateway.metricsRegistry]);
    const stop = () => { gateway.close().then(() => tracing?.shutdown()).then(() => process.exit(0), () => process.exit(1)); };
    process.on('SIGTERM', stop);
    process.on('SIGINT', () => {}); // the primary decides; a terminal's Ctrl-C reaches every process
    process.on('SIGHUP', () => {}); // likewise: the primary asks every worker to reload
    answerPluginQueries(gateway);
    answerReloads(gateway, opts.config);
    // Ready for the primary's /readyz means what it means for one gateway: pools warm.
    await workerReady(gateway);
    send({ type: 'ready', url: gateway.url });
  } catch (err) {
    send({ type: 'failed', message: err instanceof ConfigError || err instanceof PluginLoadError ? err.message : `cannot start: ${(err as Error).message}` });
    process.exit(1);
  }
}

async function runPrimary(opts: ClusterOptions): Promise<void> {
  const logger = pino({ base: { service: 'praxis-wasm', role: 'primary' } });
  let config: GatewayConfig;
  try {
    ({ config } = await loadConfigFile(opts.config));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
  const aggregator = new AggregatorRegistry();
  let admin: Awaited<ReturnType<typeof startAdmin>> | undefined;
  let stopping = false;
  const readyWorkers = new Set<Worker>();
  try {
    admin = config.admin
      ? await startAdmin(config.admin, {
        metrics: { text: () => aggregator.clusterMetrics(), contentType: aggregator.contentType },
        // Ready while every worker is: one being replaced takes the whole pod out of rotation briefly.
        readiness: () => stopping
          ? { ready: false, state: 'draining: workers finish their in-flight requests' }
          : { ready: readyWorkers.size === opts.workers, state: `${readyWorkers.size}/${opts.workers} workers ready` },
        config: () => redactConfig(config),
        plugins: () => askWorkers([...readyWorkers]),
      }, logger)
      : undefined;
  } catch (err) {
    console.error(`praxis-wasm: cannot start the admin listener: ${(err as Error).message}`);
    process.exit(1);
  }
  let exitCode = 0;
  let announced = false;
  const started = new Map<Worker, number>();
  const fork = () => started.set(cluster.fork(), Date.now());
  const finish = () => {
    const exit = () => process.exit(exitCode);
    if (admin) admin.close().then(exit, exit);
    else exit();
  };
  const shutdown = (code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    logger.info('shutting down: workers finish their in-flight requests');
    for (const w of started.keys()) w.process.kill('SIGTERM');
    if (started.size === 0) finish();
  };
  cluster.on('message', (_worker, m: WorkerMessage) => {
    if (m.type === 'failed') {
      console.error(m.message);
      shutdown(1);
    } else if (m.type === 'ready' && readyWorkers.add(_worker).size === opts.workers && !announced) {
      announced = true;
      console.error(`praxis-wasm: ${opts.workers} workers on ${m.url} (config ${opts.config})${admin ? `, admin on ${admin.url}` : ''}`);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    const at = started.get(worker) ?? 0;
    started.delete(worker);
    readyWorkers.delete(worker);
    if (stopping) {
      if (started.size === 0) finish();
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died');
    if (Date.now() - at < EARLY_DEATH_MS) return shutdown(1);
    fork();
  });
  for (let i = 0; i < opts.workers; i++) fork();
  // A reload is each worker's (each has its own plugins and pools); the primary keeps its /config view in step.
  const reloads = reloadOnSignal(opts.config, {
    reload: async (): Promise<ReloadOutcome> => {
      const results = await reloadWorkers([...readyWorkers], logger);
      const failed = results.find((r) => !r.outcome?.ok);
      const ok = results.find((r) => r.outcome?.ok)?.outcome;
      if (!failed && ok?.ok) {
        const next = await configFromFile(opts.config)().catch(() => undefined);
        if (next) config = effectiveConfig(config, next).config;
        return ok;
      }
      return { ok: false, version: 0, error: `${results.length - results.filter((r) => r.outcome?.ok).length} of ${results.length} workers failed to reload` };
    },
  }, logger, {
    watch: opts.watchConfig === true || (config.reload?.watch ?? RELOAD_DEFAULTS.watch),
    debounceMs: config.reload?.debounceMs ?? RELOAD_DEFAULTS.debounceMs,
  });
  process.on('exit', () => reloads.close());
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
}

export function runCluster(opts: ClusterOptions): Promise<void> {
  return cluster.isPrimary ? runPrimary(opts) : runWorker(opts);
}
