/**
 * The ext_proc face: the gateway's plugins, pools, route table, sub-request bridge and metrics
 * behind Envoy's `envoy.service.ext_proc.v3.ExternalProcessor` instead of an HTTP listener.
 * Same YAML as the gateway; `extproc.port`/`host` say where it listens, `admin` serves metrics.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../config/types.ts';
import { type Admin, startAdmin } from '../gateway/admin.ts';
import { redactConfig } from '../gateway/admin-redact.ts';
import { GatewayReadiness, pluginView } from '../gateway/admin-views.ts';
import { pathPolicyOf } from '../gateway/paths.ts';
import { type LoadedPlugin, loadPlugin } from '../gateway/plugins.ts';
import { RouteTable } from '../gateway/routes.ts';
import { createLogger, type LoggerOptions } from '../observability/logger.ts';
import { Metrics } from '../observability/metrics.ts';
import { HookInvoker } from '../pipeline/invoke.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import type { PoolStats } from '../pool/plugin-pool.ts';
import { SubrequestBridge } from '../subrequest/index.ts';
import { HEALTH_SERVICE, type ServingStatus, healthHandlers } from './health.ts';
import { externalProcessorService } from './protos.ts';
import { serveStream } from './serve.ts';
import type { ExtProcState } from './state.ts';

export const EXTPROC_DEFAULTS = { host: '127.0.0.1', port: 9002, envoyBufferBytes: 1024 * 1024 } as const;
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
  close(): Promise<void>;
}

export async function startExtProc(config: GatewayConfig, opts: ExtProcOptions = {}): Promise<ExtProcServer> {
  const logger = opts.logger ?? createLogger({ level: config.log?.level ?? 'info', ...opts.log });
  const paths = pathPolicyOf(config.paths);
  const routes = new RouteTable(config.routes, paths);
  const filters = new Map<string, LoadedPlugin>();
  const closePools = async () => { await Promise.all([...filters.values()].map((f) => f.pool.close())); };
  // Metrics are read through `current` so the admin listener can start before the plugins load
  // (an orchestrator sees "alive, not ready" during a slow start, as with the gateway).
  let current: Metrics | undefined;
  const readiness = new GatewayReadiness(() => filters.values());
  let admin: Admin | undefined;
  if (config.admin) {
    admin = await startAdmin(config.admin, {
      metrics: { text: () => current?.text() ?? Promise.resolve(''), get contentType() { return current?.contentType ?? 'text/plain'; } },
      readiness: () => readiness.check(),
      config: () => redactConfig(config),
      plugins: () => [...filters.values()].map(pluginView),
    }, logger);
  }
  try {
    for (const [name, cfg] of Object.entries(config.plugins ?? {})) {
      filters.set(name, await loadPlugin(name, cfg, opts.baseDir ?? process.cwd(), logger, opts.cacheDir));
    }
  } catch (err) {
    await Promise.all([closePools(), admin?.close()]);
    throw err;
  }
  const bridge = new SubrequestBridge({
    logger: logger.child({ component: 'subrequest' }),
    ...(config.limits?.maxSubrequestsInFlight !== undefined ? { maxInFlight: config.limits.maxSubrequestsInFlight } : {}),
    ...config.subrequests,
  });
  const metrics = new Metrics({
    poolStats: () => [...filters.values()].map((f) => f.pool.stats()),
    subrequestsInFlight: () => bridge.inFlight(),
  });
  current = metrics;
  const invoker = new HookInvoker(bridge, metrics);
  const pipelines = new Map<string, Pipeline>();
  for (const route of config.routes) pipelines.set(route.name, new Pipeline((route.filters ?? []).map((f) => filters.get(f)!), invoker));
  const state: ExtProcState = {
    logger, accessLog: logger.child({ log: 'access' }), routes, paths, pipelines, upstreams: config.upstreams, bridge,
    maxDepth: config.limits?.maxDepth ?? 4, metrics,
    envoyBufferBytes: config.extproc?.envoyBufferBytes ?? EXTPROC_DEFAULTS.envoyBufferBytes,
  };

  let serving: ServingStatus = 'SERVING';
  const streams = new Set<() => void>();
  const server = new grpc.Server();
  server.addService(externalProcessorService().service, { process: (call: Parameters<typeof serveStream>[1]) => serveStream(state, call, streams) });
  server.addService(HEALTH_SERVICE, healthHandlers((name) => (name === '' || name === EXTPROC_SERVICE ? serving : undefined)));
  const host = opts.host ?? config.extproc?.host ?? EXTPROC_DEFAULTS.host;
  const bindHost = host.includes(':') ? `[${host}]` : host;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${bindHost}:${opts.port ?? config.extproc?.port ?? EXTPROC_DEFAULTS.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
  } catch (err) {
    await Promise.all([closePools(), bridge.close(), admin?.close()]);
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
    poolStats: () => [...filters.values()].map((f) => f.pool.stats()),
    subrequestsInFlight: () => bridge.inFlight(),
    streamsInFlight: () => streams.size,
    close() {
      closing ??= (async () => {
        // Health says NOT_SERVING at once, so Envoy stops opening streams while these finish.
        serving = 'NOT_SERVING';
        readiness.draining();
        const graceMs = config.limits?.shutdownGraceMs ?? 10_000;
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            for (const cancel of streams) cancel();
            server.forceShutdown();
            resolve();
          }, graceMs);
          server.tryShutdown(() => { clearTimeout(force); resolve(); });
        });
        await Promise.all([closePools(), bridge.close(), admin?.close()]);
      })();
      return closing;
    },
  };
}
