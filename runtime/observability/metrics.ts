/**
 * Prometheus metrics, one prom-client registry per gateway. What is observed per request or per
 * hook goes through fast-metrics.ts (plain numbers per label set, resolved once); the rest are
 * prom-client metrics.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { type CounterSeries, FastCounter, FastHistogram, type HistogramSeries } from './fast-metrics.ts';
import type { FailureKind } from '../pool/ejection.ts';
import type { PoolStats } from '../pool/plugin-pool.ts';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const HOOK_BUCKETS = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025, 0.1, 1];

export interface MetricSources {
  poolStats(): PoolStats[];
  subrequestsInFlight(): number;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: FastCounter;
  private readonly requestSeconds: FastHistogram;
  private readonly hookSeconds: FastHistogram;
  private readonly failures: Counter<'plugin' | 'hook' | 'kind'>;
  private readonly subrequests: FastCounter;
  private readonly subrequestSeconds: FastHistogram;
  private readonly guestLogDrops: FastCounter;
  private readonly guestContextDrops: FastCounter;
  private readonly keyvalueOps: FastCounter;
  private readonly keyvalueSeconds: FastHistogram;
  private readonly upstreamAttempts: FastCounter;
  private readonly endpointEjections: FastCounter;
  private readonly hookSeriesByKey = new Map<string, HistogramSeries>();
  private readonly requestSeries = new Map<string, Map<number, { count: CounterSeries; seconds: HistogramSeries }>>();
  private readonly attemptSeries = new Map<string, Map<string, Map<string, CounterSeries>>>();

  constructor(sources?: MetricSources) {
    const registers = [this.registry];
    const r = this.registry;
    this.requests = new FastCounter(r, 'praxis_requests_total', 'Client requests answered, by route and status');
    this.requestSeconds = new FastHistogram(r, 'praxis_request_duration_seconds', 'Client request duration', LATENCY_BUCKETS);
    this.hookSeconds = new FastHistogram(r, 'praxis_filter_hook_duration_seconds', 'Time in one filter hook, pool wait and sub-requests included', HOOK_BUCKETS);
    this.failures = new Counter({ name: 'praxis_filter_failures_total', help: 'Hooks that failed, by kind: trap, cpu-budget, memory, invalid-action, pool_exhausted', labelNames: ['plugin', 'hook', 'kind'], registers });
    this.subrequests = new FastCounter(r, 'praxis_subrequests_total', 'Sub-requests made by filters, by outcome');
    this.subrequestSeconds = new FastHistogram(r, 'praxis_subrequest_duration_seconds', 'Sub-request duration', LATENCY_BUCKETS);
    this.guestLogDrops = new FastCounter(r, 'praxis_guest_log_lines_dropped_total', 'Guest log lines dropped: over the per-call cap or the plugin\'s rate');
    this.guestContextDrops = new FastCounter(r, 'praxis_guest_context_sets_dropped_total', 'context.set calls dropped: over the plugin\'s key, byte or key-length bound');
    this.keyvalueOps = new FastCounter(r, 'praxis_keyvalue_operations_total', 'Key-value store calls by plugin, operation and outcome (ok, unavailable, limit, denied, invalid)');
    this.keyvalueSeconds = new FastHistogram(r, 'praxis_keyvalue_operation_duration_seconds', 'Key-value store call duration', HOOK_BUCKETS);
    this.upstreamAttempts = new FastCounter(r, 'praxis_upstream_attempts_total', 'Attempts sent to an upstream, by backend and outcome (status, or failed: no response)');
    this.endpointEjections = new FastCounter(r, 'praxis_upstream_endpoint_ejections_total', 'Upstream endpoints taken out of service by passive health checking');
    if (sources) {
      new Gauge({
        name: 'praxis_subrequests_in_flight', help: 'Sub-requests in flight across all requests', registers,
        collect() { this.set(sources.subrequestsInFlight()); },
      });
      new Gauge({
        name: 'praxis_pool_instances', help: 'Instances per plugin pool, by state', labelNames: ['plugin', 'state'], registers,
        collect() {
          this.reset();
          for (const s of sources.poolStats()) {
            this.set({ plugin: s.plugin, state: 'available' }, s.available);
            this.set({ plugin: s.plugin, state: 'borrowed' }, s.borrowed);
            this.set({ plugin: s.plugin, state: 'waiting' }, s.pending);
          }
        },
      });
      new Counter({
        name: 'praxis_pool_instances_destroyed_total', help: 'Instances destroyed after a trap or a broken limit', labelNames: ['plugin'], registers,
        collect() {
          this.reset();
          for (const s of sources.poolStats()) this.inc({ plugin: s.plugin }, s.destroyed);
        },
      });
      new Counter({
        name: 'praxis_plugin_ejections_total', help: 'Times a plugin was ejected for failing repeatedly', labelNames: ['plugin'], registers,
        collect() {
          this.reset();
          for (const s of sources.poolStats()) this.inc({ plugin: s.plugin }, s.ejection.ejections);
        },
      });
      new Gauge({
        name: 'praxis_plugin_ejected', help: '1 while a plugin is ejected (its hooks are not called), else 0', labelNames: ['plugin'], registers,
        collect() {
          this.reset();
          for (const s of sources.poolStats()) this.set({ plugin: s.plugin }, s.ejection.ejected ? 1 : 0);
        },
      });
    }
  }

  request(route: string, status: number, seconds: number): void {
    // Route, then status: no key string built per request.
    let byStatus = this.requestSeries.get(route);
    if (!byStatus) this.requestSeries.set(route, byStatus = new Map());
    let series = byStatus.get(status);
    if (!series) {
      series = { count: this.requests.with({ route, status: String(status) }), seconds: this.requestSeconds.with({ route }) };
      byStatus.set(status, series);
    }
    series.count.inc();
    series.seconds.observe(seconds);
  }

  /** One hook's duration series, for a caller that keeps it and observes per call with no lookup. */
  hookSeries(plugin: string, hook: string): HistogramSeries {
    const key = `${plugin}\u0000${hook}`;
    let series = this.hookSeriesByKey.get(key);
    if (!series) {
      series = this.hookSeconds.with({ plugin, hook });
      this.hookSeriesByKey.set(key, series);
    }
    return series;
  }

  failure(plugin: string, hook: string, kind: FailureKind | 'pool_exhausted'): void {
    this.failures.inc({ plugin, hook, kind });
  }

  guestLogDropped(plugin: string): void {
    this.guestLogDrops.with({ plugin }).inc();
  }

  guestContextDropped(plugin: string, reason: string): void {
    this.guestContextDrops.with({ plugin, reason }).inc();
  }

  upstreamAttempt(upstream: string, backend: string, outcome: string): void {
    // Resolved through nested maps: no label object or joined key per attempt (one per request).
    let byBackend = this.attemptSeries.get(upstream);
    if (!byBackend) this.attemptSeries.set(upstream, byBackend = new Map());
    let byOutcome = byBackend.get(backend);
    if (!byOutcome) byBackend.set(backend, byOutcome = new Map());
    let series = byOutcome.get(outcome);
    if (!series) byOutcome.set(outcome, series = this.upstreamAttempts.with({ upstream, backend, outcome }));
    series.inc();
  }

  endpointEjected(upstream: string, endpoint: string): void {
    this.endpointEjections.with({ upstream, endpoint }).inc();
  }

  subrequest(plugin: string, outcome: string, seconds: number): void {
    this.subrequests.with({ plugin, outcome }).inc();
    this.subrequestSeconds.with({ plugin }).observe(seconds);
  }

  keyvalue(plugin: string, op: string, outcome: string, seconds: number): void {
    this.keyvalueOps.with({ plugin, op, outcome }).inc();
    this.keyvalueSeconds.with({ plugin, op }).observe(seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
