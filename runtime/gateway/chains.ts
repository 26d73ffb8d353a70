/**
 * What both front doors build from one config before they listen: the admin listener (up first,
 * so a slow start reads "alive, not ready"), every plugin loaded into its pool, one sub-request
 * bridge, the metrics, and one Pipeline per route. The HTTP gateway and the ext_proc service
 * differ only in how a request reaches these.
 */
import type { Logger } from 'pino';
import type { GatewayConfig, PluginConfig } from '../config/types.ts';
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
  /** The plugins of the version serving now (a reload replaces them, see reload.ts). */
  readonly filters: ReadonlyMap<string, LoadedPlugin>;
  readonly bridge: SubrequestBridge;
  readonly metrics: Metrics;
  /** One per route, by route name. */
  readonly pipelines: Map<string, Pipeline>;
  readonly readiness: GatewayReadiness;
  readonly admin: Admin | undefined;
  /** The key-value store: opened once, it outlives reloads (plugins get new views of the same data). */
  readonly keyvalue: KeyValueStore;
  /** Loads one plugin as the start did (same folder, cache and services): a reload's loader. */
  load(name: string, cfg: PluginConfig): Promise<LoadedPlugin>;
  /** One Pipeline per route of `config` over `filters`, sharing this bridge and these metrics. */
  pipelinesFor(config: GatewayConfig, filters: ReadonlyMap<string, LoadedPlugin>): Map<string, Pipeline>;
  /** A reload's plugins and pipelines become what the views, metrics and close() see; the old pools are the reload's to close. */
  adopt(filters: ReadonlyMap<string, LoadedPlugin>, pipelines: Map<string, Pipeline>): void;
  /** Closes the pools, the bridge and the admin listener. */
  close(): Promise<void>;
}

export async function buildChains(config: GatewayConfig, logger: Logger, opts: ChainsOptions): Promise<Chains> {
  const loaded = new Map<string, LoadedPlugin>();
  let filters: ReadonlyMap<string, LoadedPlugin> = loaded;
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
  const load = async (name: string, cfg: PluginConfig): Promise<LoadedPlugin> => ({
    ...(await loadPlugin(name, cfg, opts.baseDir, logger, opts.cacheDir)),
    keyvalue: keyvalue.forPlugin(name, cfg.keyvalue, kvObserver),
  });
  try {
    for (const [name, cfg] of Object.entries(config.plugins ?? {})) {
      loaded.set(name, await load(name, cfg));
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
  const pipelinesFor = (cfg: GatewayConfig, from: ReadonlyMap<string, LoadedPlugin>) => {
    const out = new Map<string, Pipeline>();
    for (const route of cfg.routes) out.set(route.name, new Pipeline((route.filters ?? []).map((f) => from.get(f)!), invoker));
    // Each backend's upstream filters, from the same loaded plugins (one pool per plugin, shared with routes).
    for (const [name, u] of Object.entries(cfg.upstreams)) {
      for (const b of backendsOf(name, u)) {
        if (b.upstreamFilters?.length) out.set(backendKey(name, b.name), new Pipeline(b.upstreamFilters.map((f) => from.get(f)!), invoker));
      }
    }
    return out;
  };
  let pipelines = pipelinesFor(config, filters);
  return {
    get filters() { return filters; },
    get pipelines() { return pipelines; },
    bridge, metrics, readiness, admin, load, pipelinesFor,
    adopt(next, nextPipelines) { filters = next; pipelines = nextPipelines; },
    keyvalue,
    close: async () => { await Promise.all([closePools(), bridge.close(), admin?.close()]); await keyvalue.close(); },
  };
}
