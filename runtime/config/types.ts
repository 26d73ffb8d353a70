/** The gateway's configuration, as validated by schema.json (see docs/config.md). */

export interface PluginConfig {
  /** Path to the component; relative paths are resolved against the config file's folder. */
  path: string;
  /** Hex sha256 the file must have; a mismatch refuses to start. */
  sha256?: string;
  /** Handed to the filter's configure() as JSON text (a string is passed as is). */
  config?: unknown;
  pool?: { min?: number; max?: number; acquireTimeoutMs?: number };
  /** Ceiling of each instance's linear memory (default 64). */
  memoryLimitMb?: number;
  /** CPU time one hook call may take before it is stopped, in ms (default 50; see docs/isolation.md). */
  cpuBudgetMs?: number;
  /** Fuel units (about one per instruction) one hook call may spend; overrides cpuBudgetMs when set. */
  maxLoopIterations?: number;
  /** Code the fuel instrumentation cannot read may run without a CPU bound (default false: refused at load). */
  trusted?: boolean;
  /** Ceiling of every table the guest defines, in entries (default 10000). */
  tableLimit?: number;
  /** What a trap does to the request: `closed` answers 500 (default), `open` skips the filter. */
  failure?: 'open' | 'closed';
  /** Hosts this plugin may reach with sub-requests ("host" or "host:port"); default none. */
  allowedHosts?: string[];
  subrequests?: { timeoutMs?: number; maxResponseBytes?: number; maxInFlight?: number };
  /** Which binding runs the component: `auto` (default) takes the fast path when it can. */
  binding?: 'auto' | 'fast' | 'jco';
  /**
   * What the guest may make the host keep or write: context store per request (defaults 1 MiB,
   * 256 keys) and log lines (4096 bytes each, 100 per call, 1000/s with bursts of 2000).
   */
  limits?: {
    maxContextBytes?: number;
    maxContextKeys?: number;
    maxLogLineBytes?: number;
    maxLogLinesPerCall?: number;
    logLinesPerSecond?: number;
    logBurst?: number;
  };
  /**
   * Outlier ejection: `failures` guest failures within `windowMs` take the plugin out of service
   * for `baseMs`, doubling per ejection up to `maxMs` (defaults 5, 10000, 5000, 300000; on).
   */
  ejection?: { enabled?: boolean; failures?: number; windowMs?: number; baseMs?: number; maxMs?: number };
  /** This plugin's use of the key-value store (docs/keyvalue.md). */
  keyvalue?: PluginKeyValueConfig;
}

/**
 * Shared namespaces granted besides the plugin's own, and its bounds: key and value sizes
 * (defaults 256 bytes, 64 KiB), entries and bytes it may hold in the memory backend (10000, 16 MiB).
 */
export interface PluginKeyValueConfig {
  namespaces?: string[];
  maxKeyBytes?: number;
  maxValueBytes?: number;
  maxEntries?: number;
  maxBytes?: number;
}

/** The key-value store every plugin's `keyvalue` calls reach (docs/keyvalue.md). */
export interface KeyValueConfig {
  /** `memory` (default): this process only; `redis`: shared by every worker and gateway using it. */
  backend?: 'memory' | 'redis';
  /** Bounds on the whole memory store, least recently used evicted past them (defaults 100000, 64 MiB). */
  memory?: { maxEntries?: number; maxBytes?: number };
  /** Defaults: redis://127.0.0.1:6379, `praxis:`, 50 ms per call, 1000 ms per connection attempt. */
  redis?: { url?: string; keyPrefix?: string; timeoutMs?: number; connectTimeoutMs?: number };
}

/** One backend of an upstream (docs/orchestration.md): its endpoints, priority group and per-attempt filters. */
export interface BackendConfig {
  /** Named in the access log and the metrics; unique within the upstream. */
  name: string;
  /** Base URLs (origin, optionally a path prefix) of this backend. */
  endpoints: string[];
  /** Priority group (default 0): attempts go to the lowest group with an endpoint in service. */
  priority?: number;
  /** Plugins that run on every attempt sent to this backend, after the route's filters. */
  upstreamFilters?: string[];
  /**
   * The Envoy cluster this backend is behind `praxis-wasm extproc` (default: the backend's name):
   * an upstream-phase stream for that cluster runs this backend's upstream filters (docs/envoy.md).
   */
  envoyCluster?: string;
}

/** Passive health checking of an upstream's endpoints (defaults: on, 5 failures, 30000, 300000). */
export interface OutlierDetectionConfig {
  enabled?: boolean;
  /** Consecutive failed attempts (connect failure, timeout, retriable status) that eject an endpoint. */
  consecutiveFailures?: number;
  /** First ejection's length; doubled for each ejection in a row, up to maxEjectionMs. */
  baseEjectionMs?: number;
  maxEjectionMs?: number;
}

export interface UpstreamConfig {
  /** Base URLs (origin, optionally a path prefix) tried in turn on retries: one backend of priority 0. */
  endpoints?: string[];
  /** The general form of `endpoints`: backends in priority groups, each with its upstream filters. */
  backends?: BackendConfig[];
  outlierDetection?: OutlierDetectionConfig;
  /**
   * Per-attempt bounds on this upstream's connections: connect (default subrequests.connectTimeoutMs,
   * else 2000), response head and body gaps (default none: the route's timeoutMs/idleTimeoutMs bound them).
   */
  timeouts?: { connectMs?: number; headersMs?: number; bodyIdleMs?: number };
  /**
   * Addresses besides `endpoints` a filter may pick with `x-gateway-destination-endpoint`: an IP,
   * a CIDR block, either with `:port` (IPv6 bracketed). Default none: only the endpoints.
   */
  pickableEndpoints?: string[];
}

export interface RouteConfig {
  name: string;
  match?: { pathPrefix?: string; headers?: Record<string, string> };
  upstream: string;
  filters?: string[];
  /** Time to the response head (default 30000): 504 past it; sub-request timeouts are clamped below it. */
  timeoutMs?: number;
  /** Longest gap in the response body, upstream silent or client not reading (default 60000). */
  idleTimeoutMs?: number;
  /** Further attempts on connect failure or 502/503/504 (default 0). Needs a replayable body. */
  retries?: number;
  /** With retries, the request body is kept for replay up to this many bytes (default 1 MiB). */
  maxRetryBodyBytes?: number;
  /** Response statuses retried besides 502, 503 and 504 (connect failures and timeouts always are). */
  retryOn?: number[];
}

/** The client listener and the bounds every client connection lives under (defaults in docs/config.md). */
export interface ListenConfig {
  host?: string;
  port?: number;
  /** Time for a request's head to arrive, first or keep-alive follow-up (default 10000): 408, closed. */
  headersTimeoutMs?: number;
  /** Longest gap between request-body bytes while the gateway waits for them (default 30000): 408, closed. */
  requestBodyIdleTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this (default 5000). */
  keepAliveTimeoutMs?: number;
  /** Open client connections at most; connections beyond are closed on accept (default 10000). */
  maxConnections?: number;
  /** Size of a request head (default 16384): 431 past it. */
  maxHeaderBytes?: number;
  /** Header fields in a request head (default 100): 431 past it. */
  maxHeaderCount?: number;
}

export interface GatewayConfig {
  listen?: ListenConfig;
  /**
   * The Envoy ext_proc face (`praxis-wasm extproc`): its gRPC listener (default 127.0.0.1:9002) and
   * Envoy's buffer for a BUFFERED body (default 1 MiB, Envoy's per-connection buffer limit).
   */
  extproc?: {
    host?: string; port?: number; envoyBufferBytes?: number;
    /** Route-phase contexts held for upstream-phase streams to find by x-request-id (default 10000). */
    maxLinkedRequests?: number;
  };
  /** A second listener for `/metrics` (Prometheus) and `/healthz`; off unless set. */
  admin?: { host?: string; port: number };
  plugins?: Record<string, PluginConfig>;
  keyvalue?: KeyValueConfig;
  upstreams: Record<string, UpstreamConfig>;
  routes: RouteConfig[];
  limits?: {
    /** Global cap on in-flight sub-requests; when full, new client requests get 429. */
    maxSubrequestsInFlight?: number;
    /** Requests arriving with a deeper x-praxis-depth are refused with 508 (default 4). */
    maxDepth?: number;
    /** Time to let in-flight requests finish on SIGTERM (default 10000). */
    shutdownGraceMs?: number;
  };
  subrequests?: { connectTimeoutMs?: number; defaultTimeoutMs?: number; maxResponseBytes?: number; maxRequestBytes?: number };
  /** Request-target normalisation before routing (docs/config.md, "Paths"). */
  paths?: {
    /** Runs of `/` count as one (default true). */
    mergeSlashes?: boolean;
    /** `%2F` and `%5C` in a path are refused with 400 (default true); else kept encoded. */
    rejectEncodedSlash?: boolean;
  };
  log?: { level?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' };
  /** Live reload (docs/reload.md): watch the config and plugin files (default false), settle time (default 200). */
  reload?: { watch?: boolean; debounceMs?: number };
  /** OpenTelemetry traces (docs/tracing.md); each key wins over its `OTEL_*` variable. */
  tracing?: TracingConfig;
}

export interface TracingConfig {
  /** On or off; unset: on when `OTEL_TRACES_EXPORTER` or an OTLP endpoint variable is set. */
  enabled?: boolean;
  /** Where spans go (default `otlp`); `none` builds spans (and propagates their context) without exporting. */
  exporter?: 'otlp' | 'console' | 'none';
  /** OTLP/HTTP collector base URL (default http://localhost:4318); `/v1/traces` is appended unless present. */
  endpoint?: string;
  /** Share of new traces sampled, 0..1 (default 1); a client's sampled flag is followed. */
  sampleRatio?: number;
  /** `service.name` of the spans (default `praxis-wasm`). */
  serviceName?: string;
}
