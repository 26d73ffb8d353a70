/**
 * The ext_proc face: the gateway's plugins, pools, route table, sub-request bridge and metrics
 * behind Envoy's `envoy.service.ext_proc.v3.ExternalProcessor` instead of an HTTP listener.
 * Same YAML as the gateway; `extproc.port`/`host` say where it listens, `admin` serves metrics.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../config/types.ts';
import { buildChains } from '../gateway/chains.ts';
import { backendsOf } from '../gateway/backends.ts';
import { HookInvoker } from '../pipeline/invoke.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { pathPolicyOf } from '../gateway/paths.ts';
import { type ConfigSource, type ReloadOutcome, Reloader } from '../gateway/reload.ts';
import { RouteTable } from '../gateway/routes.ts';
import { createLogger, type LoggerOptions } from '../observability/logger.ts';
import type { PoolStats } from '../pool/plugin-pool.ts';
import { HEALTH_SERVICE, type ServingStatus, healthHandlers } from './health.ts';
import { externalProcessorService } from './protos.ts';
import { serveStream } from './serve.ts';
import type { ExtProcState } from './state.ts';
import { LinkedRequests } from './linked-requests.ts';
import { clusterMap } from './upstream-phase.ts';

export const EXTPROC_DEFAULTS = { host: '127.0.0.1', port: 9002, envoyBufferBytes: 1024 * 1024, maxLinkedRequests: 10_000 } as const;
export const EXTPROC_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';

export interface ExtProcOptions {
  baseDir?: string;
  logger?: Logger;
  log?: LoggerOptions;
  /** Overrides extproc.port (0 picks a free port). */
  port?: number;
  host?: string;
  cacheDir?: string;
}

export interface ExtProcServer {
  /** `host:port`, as a gRPC client dials it. */
  readonly address: string;
  readonly port: number;
  readonly logger: Logger;
  readonly adminUrl?: string;
  readonly metricsRegistry: Registry;
  metrics(): Promise<string>;
  poolStats(): PoolStats[];
  subrequestsInFlight(): number;
  /** Streams open right now. */
  streamsInFlight(): number;
  /** As the gateway's: the next config swapped in once warm; open streams finish on their version. */
  reload(next: ConfigSource): Promise<ReloadOutcome>;
  configVersion(): number;
  close(): Promise<void>;
}

export async function startExtProc(config: GatewayConfig, opts: ExtProcOptions = {}): Promise<ExtProcServer> {
  const logger = opts.logger ?? createLogger({ level: config.log?.level ?? 'info', ...opts.log });
  // Checked before any plugin loads; a reload checks its config the same way.
  const check = (cfg: GatewayConfig) => {
    const paths = pathPolicyOf(cfg.paths);
    return { paths, routes: new RouteTable(cfg.routes, paths), clusters: clusterMap(cfg) };
  };
  const first = check(config);
  let reloader: Reloader<ExtProcState> | undefined;
  const chains = await buildChains(config, logger, {
    baseDir: opts.baseDir ?? process.cwd(), admin: true, configView: () => reloader?.current.config ?? config,
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
  });
  const { bridge, metrics, readiness, admin } = chains;
  const accessLog = logger.child({ log: 'access' });
  // One for the service's life: a request's route phase and its attempts may straddle a reload.
  const linked = new LinkedRequests(config.extproc?.maxLinkedRequests ?? EXTPROC_DEFAULTS.maxLinkedRequests);
  const emptyPipeline = new Pipeline([], new HookInvoker(bridge, metrics));
  const assemble = (cfg: GatewayConfig, checked: ReturnType<typeof check>) => (pipelines: ExtProcState['pipelines']) => ({
    state: {
      logger, accessLog, routes: checked.routes, paths: checked.paths, pipelines, upstreams: cfg.upstreams, bridge,
      maxDepth: cfg.limits?.maxDepth ?? 4, metrics,
      envoyBufferBytes: cfg.extproc?.envoyBufferBytes ?? EXTPROC_DEFAULTS.envoyBufferBytes,
      clusters: checked.clusters, linked, emptyPipeline,
      linkRoutePhase: Object.entries(cfg.upstreams).some(([n, u]) => backendsOf(n, u).some((b) => b.upstreamFilters?.length)),
    } satisfies ExtProcState,
    release: async () => {},
  });
  reloader = new Reloader<ExtProcState>({
    chains, logger, baseDir: opts.baseDir ?? process.cwd(), prepare: (cfg) => assemble(cfg, check(cfg)),
  }, config, assemble(config, first)(chains.pipelines));
  const generations = reloader;

  let serving: ServingStatus = 'SERVING';
  const streams = new Set<() => void>();
  const server = new grpc.Server();
  server.addService(externalProcessorService().service, {
    process: (call: Parameters<typeof serveStream>[1]) => {
      // The stream runs on the generation current now, to its end, whatever reloads meanwhile.
      const gen = generations.current.enter();
      serveStream(gen.state, call, streams, () => gen.leave());
    },
  });
  server.addService(HEALTH_SERVICE, healthHandlers((name) => (name === '' || name === EXTPROC_SERVICE ? serving : undefined)));
  const host = opts.host ?? config.extproc?.host ?? EXTPROC_DEFAULTS.host;
  const bindHost = host.includes(':') ? `[${host}]` : host;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${bindHost}:${opts.port ?? config.extproc?.port ?? EXTPROC_DEFAULTS.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
  } catch (err) {
    await chains.close();
    throw err;
  }
  readiness.listening();
  let closing: Promise<void> | undefined;
  return {
    address: `${bindHost}:${port}`,
    port,
    logger,
    ...(admin ? { adminUrl: admin.url } : {}),
    metricsRegistry: metrics.registry,
    metrics: () => metrics.text(),
    poolStats: () => [...chains.filters.values()].map((f) => f.pool.stats()),
    subrequestsInFlight: () => bridge.inFlight(),
    streamsInFlight: () => streams.size,
    reload: (next) => generations.reload(next),
    configVersion: () => generations.current.version,
    close() {
      closing ??= (async () => {
        // Health says NOT_SERVING at once, so Envoy stops opening streams while these finish.
        serving = 'NOT_SERVING';
        readiness.draining();
        const graceMs = generations.current.config.limits?.shutdownGraceMs ?? 10_000;
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            for (const cancel of streams) cancel();
            server.forceShutdown();
            resolve();
          }, graceMs);
          server.tryShutdown(() => { clearTimeout(force); resolve(); });
        });
        await generations.close();
        await chains.close();
      })();
      return closing;
    },
  };
}
