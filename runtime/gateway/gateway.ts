/**
 * A running gateway: plugins loaded and pooled, one pipeline per route, a node:http listener.
 * close() stops accepting, lets in-flight exchanges finish (within the grace period), then
 * releases pools, the sub-request bridge and upstream connections.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../config/types.ts';
import { createLogger, type LoggerOptions } from '../observability/logger.ts';
import type { Readiness } from './admin.ts';
import { type PluginView, pluginView } from './admin-views.ts';
import { buildChains } from './chains.ts';
import type { PoolStats } from '../pool/plugin-pool.ts';
import { parsePickable } from './endpoint-pick.ts';
import { handleExchange } from './exchange.ts';
import { inprocRouteTarget } from './inproc.ts';
import { applyCaps, listenBounds, serverOptions } from './listener.ts';
import { pathPolicyOf } from './paths.ts';
import { type ConfigSource, type ReloadOutcome, Reloader } from './reload.ts';
import { RouteTable } from './routes.ts';
import { shutdown } from './shutdown.ts';
import type { GatewayState } from './state.ts';
import { Upstreams } from './upstreams.ts';

export interface StartOptions {
  /** Folder that relative plugin paths are resolved against (default: the working directory). */
  baseDir?: string;
  logger?: Logger;
  log?: LoggerOptions;
  /** Overrides listen.port (0 picks a free port). */
  port?: number;
  host?: string;
  cacheDir?: string;
  /** Start the `admin` listener when configured (default true; a cluster's primary serves it instead). */
  admin?: boolean;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly logger: Logger;
  poolStats(): PoolStats[];
  /** Sub-requests in flight right now, across all requests. */
  subrequestsInFlight(): number;
  /** Client exchanges running right now (from request head to the last byte or the cut). */
  exchangesInFlight(): number;
  /** Prometheus text exposition of the gateway's metrics. */
  metrics(): Promise<string>;
  /** The prom-client registry behind `metrics()` (a cluster worker hands it to the aggregator). */
  readonly metricsRegistry: Registry;
  /** Where the admin endpoints (`/metrics`, `/healthz`, `/readyz`, ...) are served, when `admin` is configured. */
  readonly adminUrl?: string;
  /** What `/readyz` answers: ready once listening with every pool warm, not while draining. */
  readiness(): Readiness;
  /** What `/plugins` answers. */
  plugins(): PluginView[];
  /**
   * Loads `next` (or reads it) and swaps it in once every plugin is warm; exchanges already
   * running finish on the version they started with. A failure changes nothing (docs/reload.md).
   */
  reload(next: ConfigSource): Promise<ReloadOutcome>;
  /** The config version serving new requests: 1 at start, +1 per successful reload. */
  configVersion(): number;
  close(): Promise<void>;
}

/** Checks what can be checked before any plugin loads (each error names its key). */
function checkConfig(config: GatewayConfig): { paths: ReturnType<typeof pathPolicyOf>; routes: RouteTable } {
  const paths = pathPolicyOf(config.paths);
  const routes = new RouteTable(config.routes, paths);
  for (const [name, u] of Object.entries(config.upstreams)) parsePickable(name, u.pickableEndpoints ?? []);
  return { paths, routes };
}

export async function startGateway(config: GatewayConfig, opts: StartOptions = {}): Promise<Gateway> {
  const logger = opts.logger ?? createLogger({ level: config.log?.level ?? 'info', ...opts.log });
  // Before any plugin loads: a route prefix that can never match, or an allow-list entry that is
  // not an address, stops the start, naming the key.
  const first = checkConfig(config);
  let reloader: Reloader<GatewayState> | undefined;
  let listenAt = { host: opts.host ?? config.listen?.host ?? '127.0.0.1', port: opts.port ?? config.listen?.port ?? 8080 };
  const chains = await buildChains(config, logger, {
    baseDir: opts.baseDir ?? process.cwd(),
    admin: opts.admin !== false,
    configView: () => {
      const current = reloader?.current.config ?? config;
      return { ...current, listen: { ...current.listen, ...listenAt } };
    },
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
  });
  const { bridge, metrics, readiness, admin } = chains;
  const bounds = listenBounds(config.listen);
  const accessLog = logger.child({ log: 'access' });
  // One generation's state: what a reload replaces (the listener, bridge and metrics stay).
  const assemble = (cfg: GatewayConfig, checked: ReturnType<typeof checkConfig>) => (pipelines: GatewayState['pipelines']) => {
    const upstreams = new Upstreams(cfg.upstreams, {
      connectTimeoutMs: cfg.subrequests?.connectTimeoutMs ?? 2000,
      onEject: (upstream, e) => {
        metrics.endpointEjected(upstream, e.endpoint);
        logger.warn({ upstream, endpoint: e.endpoint, backoffMs: e.backoffMs }, 'upstream endpoint ejected');
      },
    });
    const state: GatewayState = {
      logger, accessLog, routes: checked.routes, paths: checked.paths, pipelines, upstreams, bridge,
      maxDepth: cfg.limits?.maxDepth ?? 4, metrics, listen: bounds,
    };
    return { state, release: () => upstreams.close(), abort: () => upstreams.destroy() };
  };
  reloader = new Reloader<GatewayState>({
    chains, logger, baseDir: opts.baseDir ?? process.cwd(),
    prepare: (cfg) => assemble(cfg, checkConfig(cfg)),
  }, config, assemble(config, first)(chains.pipelines));
  const generations = reloader;

  let inFlight = 0;
  let idle: (() => void) | undefined;
  const server: Server = createServer(serverOptions(bounds), (req, res) => {
    inFlight++;
    // The exchange runs on the generation current now, to its end, whatever reloads meanwhile.
    const gen = generations.current.enter();
    handleExchange(gen.state, req, res)
      .catch((err) => {
        logger.error({ err }, 'unhandled exchange failure');
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      })
      .finally(() => {
        gen.leave();
        inFlight--;
        if (inFlight === 0) idle?.();
      });
  });
  applyCaps(server, bounds);
  // `route://` sub-requests run through this server's own exchange, in-process (inproc.ts).
  bridge.serveRoutes(inprocRouteTarget(server));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenAt.port, listenAt.host, () => resolve());
    });
  } catch (err) {
    await Promise.all([chains.close(), generations.close()]);
    throw err;
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  listenAt = { host: addr.address, port: addr.port };
  readiness.listening();
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    logger,
    ...(admin ? { adminUrl: admin.url } : {}),
    poolStats: () => [...chains.filters.values()].map((f) => f.pool.stats()),
    subrequestsInFlight: () => bridge.inFlight(),
    exchangesInFlight: () => inFlight,
    metrics: () => metrics.text(),
    readiness: () => readiness.check(),
    plugins: () => [...chains.filters.values()].map(pluginView),
    reload: (next) => generations.reload(next),
    configVersion: () => generations.current.version,
    metricsRegistry: metrics.registry,
    close() {
      readiness.draining();
      closing ??= shutdown({
        server, logger, graceMs: generations.current.config.limits?.shutdownGraceMs ?? 10_000,
        inFlight: () => inFlight,
        drained: () => new Promise<void>((r) => { idle = r; }),
        release: async () => { await generations.close(); await chains.close(); },
        abortUpstreams: () => generations.abort(),
      });
      return closing;
    },
  };
}
