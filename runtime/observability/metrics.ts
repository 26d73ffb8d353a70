/**
 * Prometheus metrics (prom-client), one registry per gateway. Label children are cached so a
 * hot-path observation is a Map lookup plus the histogram update, not a label-set hash.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolStats } from '../pool/plugin-pool.ts';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const HOOK_BUCKETS = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025, 0.1, 1];

export interface MetricSources {
  poolStats(): PoolStats[];
  subrequestsInFlight(): number;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'status'>;
  private readonly requestSeconds: Histogram<'route'>;
  private readonly hookSeconds: Histogram<'plugin' | 'hook'>;
  private readonly failures: Counter<'plugin' | 'hook' | 'kind'>;
  private readonly subrequests: Counter<'plugin' | 'outcome'>;
  private readonly subrequestSeconds: Histogram<'plugin'>;
  private readonly hookChildren = new Map<string, { observe(v: number): void }>();
  private readonly requestChildren = new Map<string, { count: { inc(): void }; seconds: { observe(v: number): void } }>();

  constructor(sources?: MetricSources) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'praxis_requests_total', help: 'Client requests answered, by route and status', labelNames: ['route', 'status'], registers });
    this.requestSeconds = new Histogram({ name: 'praxis_request_duration_seconds', help: 'Client request duration', labelNames: ['route'], buckets: LATENCY_BUCKETS, registers });
    this.hookSeconds = new Histogram({ name: 'praxis_filter_hook_duration_seconds', help: 'Time in one filter hook, pool wait and sub-requests included', labelNames: ['plugin', 'hook'], buckets: HOOK_BUCKETS, registers });
    this.failures = new Counter({ name: 'praxis_filter_failures_total', help: 'Hooks that trapped, broke a limit or found no free instance', labelNames: ['plugin', 'hook', 'kind'], registers });
    this.subrequests = new Counter({ name: 'praxis_subrequests_total', help: 'Sub-requests made by filters, by outcome', labelNames: ['plugin', 'outcome'], registers });
    this.subrequestSeconds = new Histogram({ name: 'praxis_subrequest_duration_seconds', help: 'Sub-request duration', labelNames: ['plugin'], buckets: LATENCY_BUCKETS, registers });
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
    }
  }

  request(route: string, status: number, seconds: number): void {
    const key = `${route}\u0000${status}`;
    let child = this.requestChildren.get(key);
    if (!child) {
      child = { count: this.requests.labels({ route, status: String(status) }), seconds: this.requestSeconds.labels({ route }) };
      this.requestChildren.set(key, child);
    }
    child.count.inc();
    child.seconds.observe(seconds);
  }

  hook(plugin: string, hook: string, seconds: number): void {
    const key = `${plugin}\u0000${hook}`;
    let child = this.hookChildren.get(key);
    if (!child) {
      child = this.hookSeconds.labels({ plugin, hook });
      this.hookChildren.set(key, child);
    }
    child.observe(seconds);
  }

  failure(plugin: string, hook: string, kind: 'trap' | 'pool_exhausted'): void {
    this.failures.inc({ plugin, hook, kind });
  }

  subrequest(plugin: string, outcome: string, seconds: number): void {
    this.subrequests.inc({ plugin, outcome });
    this.subrequestSeconds.observe({ plugin }, seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
