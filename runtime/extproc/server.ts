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
import { pathPolicyOf } from '../gateway/paths.ts';
import { RouteTable } from '../gateway/routes.ts';
import { createLogger, type LoggerOptions } from '../observability/logger.ts';
import type { PoolStats } from '../pool/plugin-pool.ts';
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
  const chains = await buildChains(config, logger, {
    baseDir: opts.baseDir ?? process.cwd(), admin: true, configView: () => config,
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
  });
  const { filters, bridge, metrics, pipelines, readiness, admin } = chains;
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
        await chains.close();
      })();
      return closing;
    },
  };
}
