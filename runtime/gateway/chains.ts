/**
 * What both front doors build from one config before they listen: the admin listener (up first,
 * so a slow start reads "alive, not ready"), every plugin loaded into its pool, one sub-request
 * bridge, the metrics, and one Pipeline per route. The HTTP gateway and the ext_proc service
 * differ only in how a request reaches these.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import { KeyValueStore } from '../keyvalue/store.ts';
import { Metrics } from '../observability/metrics.ts';
import { HookInvoker } from '../pipeline/invoke.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { SubrequestBridge } from '../subrequest/index.ts';
import { type Admin, startAdmin } from './admin.ts';
import { redactConfig } from './admin-redact.ts';
import { backendKey, backendsOf } from './backends.ts';
import { GatewayReadiness, pluginView } from './admin-views.ts';
import { type LoadedPlugin, loadPlugin } from './plugins.ts';

export interface ChainsOptions {
  /** Folder that relative plugin paths are resolved against. */
  baseDir: string;
  cacheDir?: string;
  /** Serve the config's `admin` block here (false: a cluster's primary serves it). */
  admin: boolean;
  /** The config as `/config` shows it (before redaction). */
  configView: () => GatewayConfig;
}

export interface Chains {
  readonly filters: ReadonlyMap<string, LoadedPlugin>;
  readonly bridge: SubrequestBridge;
  readonly metrics: Metrics;
  /** One per route, by route name. */
  readonly pipelines: Map<string, Pipeline>;
  readonly readiness: GatewayReadiness;
  readonly admin: Admin | undefined;
  /** The key-value store: opened once, it outlives reloads (plugins get new views of the same data). */
  readonly keyvalue: KeyValueStore;
  /** Closes the pools, the bridge and the admin listener. */
  close(): Promise<void>;
}

export async function buildChains(config: GatewayConfig, logger: Logger, opts: ChainsOptions): Promise<Chains> {
  const filters = new Map<string, LoadedPlugin>();
  const closePools = async () => { await Promise.all([...filters.values()].map((f) => f.pool.close())); };
  const readiness = new GatewayReadiness(() => filters.values());
  // Read through a variable: the admin listener answers before the metrics exist.
  let metrics: Metrics | undefined;
  let admin: Admin | undefined;
  if (config.admin && opts.admin) {
    admin = await startAdmin(config.admin, {
      metrics: { text: () => metrics?.text() ?? Promise.resolve(''), get contentType() { return metrics?.contentType ?? 'text/plain'; } },
      readiness: () => readiness.check(),
      config: () => redactConfig(opts.configView()),
      plugins: () => [...filters.values()].map(pluginView),
    }, logger);
  }
  let keyvalue: KeyValueStore;
  try {
    keyvalue = await KeyValueStore.open(config.keyvalue, logger);
  } catch (err) {
    await admin?.close();
    throw err;
  }
  const kvObserver = { keyvalue: (...a: Parameters<Metrics['keyvalue']>) => metrics?.keyvalue(...a) };
  try {
    for (const [name, cfg] of Object.entries(config.plugins ?? {})) {
      filters.set(name, { ...(await loadPlugin(name, cfg, opts.baseDir, logger, opts.cacheDir)), keyvalue: keyvalue.forPlugin(name, cfg.keyvalue, kvObserver) });
    }
  } catch (err) {
    await Promise.all([closePools(), admin?.close(), keyvalue.close()]);
    throw err;
  }
  const bridge = new SubrequestBridge({
    logger: logger.child({ component: 'subrequest' }),
    ...(config.limits?.maxSubrequestsInFlight !== undefined ? { maxInFlight: config.limits.maxSubrequestsInFlight } : {}),
    ...config.subrequests,
  });
  metrics = new Metrics({
    poolStats: () => [...filters.values()].map((f) => f.pool.stats()),
    subrequestsInFlight: () => bridge.inFlight(),
  });
  const invoker = new HookInvoker(bridge, metrics);
  const pipelines = new Map<string, Pipeline>();
  for (const route of config.routes) {
    pipelines.set(route.name, new Pipeline((route.filters ?? []).map((f) => filters.get(f)!), invoker));
  }
  // Each backend's upstream filters, from the same loaded plugins (one pool per plugin, shared with routes).
  for (const [name, u] of Object.entries(config.upstreams)) {
    for (const b of backendsOf(name, u)) {
      if (b.upstreamFilters?.length) pipelines.set(backendKey(name, b.name), new Pipeline(b.upstreamFilters.map((f) => filters.get(f)!), invoker));
    }
  }
  return {
    filters, bridge, metrics, pipelines, readiness, admin, keyvalue,
    close: async () => { await Promise.all([closePools(), bridge.close(), admin?.close()]); await keyvalue.close(); },
  };
}
