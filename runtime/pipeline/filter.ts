/**
 * A filter as a chain sees it: a loaded plugin's pool, what it declared in configure, and the
 * operator's policy for it; plus the host calls it may make while one of its hooks runs.
 */
import type { FilterInfo, HostCalls, KvResult, LogLevel, Subrequest, SubrequestResult } from '../component/types.ts';
import type { KvCallScope, PluginKeyValue } from '../keyvalue/types.ts';
import { type HostClock, SYSTEM_CLOCK } from '../component/host-clock.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Span } from '../observability/tracing.ts';
import type { PluginPool } from '../pool/plugin-pool.ts';
import type { ParentRequest, PluginSubrequestPolicy, SubrequestBridge } from '../subrequest/index.ts';
import { type GuestPolicy, guestPolicy } from './guest-limits.ts';
import { clipLine } from './guest-log.ts';
import type { RequestContext } from './request-context.ts';

export type FailureMode = 'open' | 'closed';

export interface ChainFilter {
  /** The plugin's name in the config. */
  readonly name: string;
  readonly pool: PluginPool;
  readonly info: FilterInfo;
  readonly failure: FailureMode;
  readonly subrequests: PluginSubrequestPolicy;
  /**
   * Bounds on the context store and log lines (guest-limits.ts), with the plugin's log rate.
   * Gateways always set it; a filter assembled without one gets the defaults and shares one rate.
   */
  readonly guest?: GuestPolicy;
  /** The plugin's view of the key-value store; without one every store call is `unavailable`. */
  readonly keyvalue?: PluginKeyValue;
  /** The clocks the `clock` import reads (default: the process's); the test kit's can be moved. */
  readonly clock?: HostClock;
}

const UNCONFIGURED = guestPolicy();

type HostFilter = Pick<ChainFilter, 'name' | 'subrequests' | 'guest' | 'keyvalue' | 'clock'>;

const NO_STORE = { ok: false as const, error: { tag: 'unavailable' as const, reason: 'no key-value store is configured for this plugin' } };

/**
 * The imports one hook call of `filter` sees, bound to the request `ctx`. One small object per
 * call, methods on the prototype: everything else (the sub-request parent, the child logger) is
 * made only when the guest actually calls out or logs, which most hooks never do.
 */
export class FilterHost implements HostCalls {
  private readonly filter: HostFilter;
  private readonly guest: GuestPolicy;
  private readonly ctx: RequestContext;
  private readonly bridge: SubrequestBridge;
  private readonly metrics: Metrics | undefined;
  /** The hook call's span when tracing is on: its sub-requests' spans hang under it. */
  private readonly span: Span | undefined;
  /** Log lines this hook call has asked for (the object lives for one call). */
  private lines = 0;

  constructor(filter: HostFilter, ctx: RequestContext, bridge: SubrequestBridge, metrics?: Metrics, span?: Span) {
    this.filter = filter;
    this.span = span;
    this.guest = filter.guest ?? UNCONFIGURED;
    this.ctx = ctx;
    this.bridge = bridge;
    this.metrics = metrics;
  }

  private parent(): ParentRequest {
    const { ctx, metrics } = this;
    return {
      requestId: ctx.id,
      attempt: ctx.attempt,
      traceparent: ctx.trace,
      span: this.span,
      depth: ctx.depth,
      deadline: ctx.deadline,
      signal: ctx.controller.signal,
      record: (entry) => {
        ctx.subrequests.push(entry);
        metrics?.subrequest(entry.plugin, entry.outcome, entry.durationMs / 1000);
      },
    };
  }

  httpSubrequest(req: Subrequest): Promise<SubrequestResult> {
    return this.bridge.send(this.parent(), this.filter.subrequests, req);
  }

  httpSubrequestAll(reqs: Subrequest[]): Promise<SubrequestResult[]> {
    return this.bridge.sendAll(this.parent(), this.filter.subrequests, reqs);
  }

  /** The store is one per request; each plugin sees its own keys only. */
  contextGet(key: string): Uint8Array | undefined {
    return this.ctx.store.get(this.filter.name, key);
  }

  /**
   * A set past the plugin's bounds is dropped: `set` returns nothing in the WIT, so the guest
   * cannot be told; it is counted, and logged once per request.
   */
  contextSet(key: string, value: Uint8Array): void {
    const { filter: { name }, guest } = this;
    const { store } = this.ctx;
    const refusal = store.set(name, key, value, guest.limits);
    if (refusal === undefined) return;
    this.metrics?.guestContextDropped(name, refusal);
    if (store.firstRefusal(name)) {
      const { maxContextBytes, maxContextKeys } = guest.limits;
      this.ctx.logger.warn({ plugin: name, reason: refusal, valueBytes: value.byteLength, ...store.usage(name), maxContextBytes, maxContextKeys },
        `context.set dropped (${refusal}); further drops in this request are counted, not logged`);
    }
  }

  /** Lines past the call's cap or the plugin's rate are dropped and counted; long lines are cut. */
  log(level: LogLevel, msg: string): void {
    // A line the logger would not write costs nothing: no rate, no count, no child logger.
    if (!this.ctx.logs(level)) return;
    const { filter: { name }, guest } = this;
    if (++this.lines > guest.limits.maxLogLinesPerCall || !guest.logRate.take()) {
      this.metrics?.guestLogDropped(name);
      if (guest.logRate.dropped()) {
        const { maxLogLinesPerCall, logLinesPerSecond, logBurst } = guest.limits;
        this.ctx.logger.warn({ plugin: name, maxLogLinesPerCall, logLinesPerSecond, logBurst }, 'guest log lines dropped: over the per-call cap or the plugin\'s rate');
      }
      return;
    }
    this.ctx.logger.child({ plugin: name })[level]({ guest: true }, clipLine(msg, guest.limits.maxLogLineBytes));
  }

  clockNowMs(): number {
    return (this.filter.clock ?? SYSTEM_CLOCK).nowMs();
  }

  clockMonotonicMs(): number {
    return (this.filter.clock ?? SYSTEM_CLOCK).monotonicMs();
  }

  /** Store calls end with the request: its deadline bounds them and its abort cancels them. */
  private scope(): KvCallScope {
    return { deadline: this.ctx.deadline, signal: this.ctx.controller.signal };
  }

  kvGet(namespace: string, key: string): Promise<KvResult<Uint8Array | undefined>> {
    const kv = this.filter.keyvalue;
    return kv ? kv.get(this.scope(), namespace, key) : Promise.resolve(NO_STORE);
  }

  kvSet(namespace: string, key: string, value: Uint8Array, ttlMs?: number): Promise<KvResult<void>> {
    const kv = this.filter.keyvalue;
    return kv ? kv.set(this.scope(), namespace, key, value, ttlMs) : Promise.resolve(NO_STORE);
  }

  kvDelete(namespace: string, key: string): Promise<KvResult<boolean>> {
    const kv = this.filter.keyvalue;
    return kv ? kv.delete(this.scope(), namespace, key) : Promise.resolve(NO_STORE);
  }

  kvIncrement(namespace: string, key: string, delta: bigint, ttlMs?: number): Promise<KvResult<bigint>> {
    const kv = this.filter.keyvalue;
    return kv ? kv.increment(this.scope(), namespace, key, delta, ttlMs) : Promise.resolve(NO_STORE);
  }

  kvCompareAndSwap(namespace: string, key: string, expected: Uint8Array | undefined, value: Uint8Array, ttlMs?: number): Promise<KvResult<boolean>> {
    const kv = this.filter.keyvalue;
    return kv ? kv.compareAndSwap(this.scope(), namespace, key, expected, value, ttlMs) : Promise.resolve(NO_STORE);
  }
}
