/**
 * Runs one hook of one filter for one request: skip it while the plugin is ejected, lend an
 * instance, call, time it, give it back; then count the failure towards ejection and apply the
 * plugin's failure mode to whatever went wrong.
 */
import { GuestTrap } from '../component/errors.ts';
import { MAX_GUEST_HEADERS } from '../component/guest-view.ts';
import type { Action, FilterInstance, HostCalls } from '../component/types.ts';
import type { FailureKind } from '../pool/ejection.ts';
import { PoolTimeoutError } from '../pool/plugin-pool.ts';
import type { HistogramSeries } from '../observability/fast-metrics.ts';
import type { Metrics } from '../observability/metrics.ts';
import { endSpan, hookDecided, hookFailed, startHookSpan } from '../observability/tracing.ts';
import type { SubrequestBridge } from '../subrequest/index.ts';
import { type ChainFilter, FilterHost } from './filter.ts';
import { PATH_PSEUDO, filterPath } from './headers.ts';
import type { RequestContext } from './request-context.ts';

export type HookName = 'on-request-headers' | 'on-request-body' | 'on-response-headers' | 'on-response-body';

/** A hook could not produce a decision; the gateway answers with `status`. */
export class FilterFailure extends Error {
  readonly status: number;
  readonly plugin: string;
  readonly hook: HookName;
  readonly type: 'filter_failed' | 'pool_exhausted' | 'plugin_ejected' | 'endpoint_refused';
  /** Seconds the client should wait before trying again (sent as `Retry-After`), when known. */
  readonly retryAfterS: number | undefined;
  constructor(status: number, type: FilterFailure['type'], plugin: string, hook: HookName, message: string, retryAfterS?: number) {
    super(message);
    this.name = 'FilterFailure';
    this.status = status;
    this.type = type;
    this.plugin = plugin;
    this.hook = hook;
    this.retryAfterS = retryAfterS;
  }
}

/** The client went away or the request timed out while a hook ran; its result is discarded. */
export class RequestCancelled extends Error {
  constructor() {
    super('request cancelled');
    this.name = 'RequestCancelled';
  }
}

const CONTINUE: Action = { tag: 'continue' };

// RFC 9110 token characters for names. Regexes rather than a charCodeAt scan: a String subclass
// anywhere in the process (the Redis client defines one) puts charCodeAt on a slow path.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Values: visible ASCII, obs-text, space and tab (no CR/LF/NUL, no DEL, nothing past U+00FF). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function validName(name: string): boolean {
  return TOKEN.test(name);
}

function validValue(value: string): boolean {
  return FIELD_VALUE.test(value);
}

/** A header a filter asked for that HTTP cannot carry, described; undefined when all are fine. */
function invalidHeaderIn(action: Action, hook: HookName): string | undefined {
  const headers = action.tag === 'continue' ? action.mutations?.setHeaders : action.tag === 'reject' ? action.rejection.headers : undefined;
  // A final answer is 200-599: a 1xx is interim (the client keeps waiting, the connection desyncs).
  if (action.tag === 'reject' && (action.rejection.status < 200 || action.rejection.status > 599)) return `status ${action.rejection.status}`;
  // The fast binding refuses longer lists as it lifts them; this covers the jco binding.
  if (headers && headers.length > MAX_GUEST_HEADERS) return `${headers.length} headers`;
  if (headers === undefined) return undefined;
  for (const [name, value] of headers) {
    if (name === PATH_PSEUDO && action.tag === 'continue' && (hook === 'on-request-headers' || hook === 'on-request-body')) {
      if (filterPath(value) === undefined) return `${PATH_PSEUDO} ${JSON.stringify(value)}`;
      continue;
    }
    if (!validName(name)) return `name ${JSON.stringify(name)}`;
    if (!validValue(value)) return `value of ${name}`;
  }
  return undefined;
}

/** A call's result was unusable, though the guest did not trap. */
class InvalidAction extends Error {}

function failureKind(err: unknown): FailureKind {
  if (err instanceof GuestTrap) return err.kind;
  return err instanceof InvalidAction ? 'invalid-action' : 'trap';
}

export class HookInvoker {
  private readonly bridge: SubrequestBridge;
  private readonly metrics: Metrics | undefined;
  /** Each filter's hook-duration series, resolved once: a call observes with no label lookup. */
  private readonly series = new WeakMap<ChainFilter, Partial<Record<HookName, HistogramSeries>>>();

  constructor(bridge: SubrequestBridge, metrics?: Metrics) {
    this.bridge = bridge;
    this.metrics = metrics;
  }

  async invoke(
    filter: ChainFilter,
    ctx: RequestContext,
    hook: HookName,
    call: (instance: FilterInstance, host: HostCalls) => Promise<Action>,
  ): Promise<Action> {
    const ejection = filter.pool.ejection;
    // In service: one field read. Otherwise either this call is the probe, or the plugin is skipped.
    let probe = false;
    if (ejection.until !== 0) {
      const waitMs = ejection.admit(Date.now());
      if (waitMs > 0) return this.ejected(filter, hook, waitMs);
      probe = true;
      ctx.logger.info({ plugin: filter.name, hook }, `probing ejected plugin ${filter.name}`);
    }
    const span = startHookSpan(ctx, filter.name, hook);
    const host = new FilterHost(filter, ctx, this.bridge, this.metrics, span);
    const { pool } = filter;
    const { signal } = ctx.controller;
    const started = performance.now();
    try {
      // A warm instance is lent with no promise; only a call that must wait goes through the queue.
      const instance = pool.lendWarm() ?? await pool.acquire(signal);
      let failed: unknown;
      let action: Action;
      try {
        action = await call(instance, host);
      } catch (err) {
        failed = err ?? new Error('unknown failure');
        throw err;
      } finally {
        void pool.release(instance, failed);
      }
      if (signal.aborted) throw new RequestCancelled();
      const invalid = invalidHeaderIn(action, hook);
      if (invalid) throw new InvalidAction(`the filter returned a header that cannot be sent: ${invalid}`);
      if (probe) ejection.probeSucceeded(Date.now());
      hookDecided(span, action.tag);
      return action;
    } catch (err) {
      if (err instanceof RequestCancelled) {
        if (probe) ejection.probeAbandoned();
        hookFailed(span, 'cancelled', false);
        throw err;
      }
      if (err instanceof PoolTimeoutError) {
        if (probe) ejection.probeAbandoned();
        ctx.logger.warn({ plugin: filter.name, hook }, err.message);
        this.metrics?.failure(filter.name, hook, 'pool_exhausted');
        hookFailed(span, 'pool_exhausted', false);
        throw new FilterFailure(503, 'pool_exhausted', filter.name, hook, err.message);
      }
      if (signal.aborted) {
        // What failed after the client went away (or the route timed out) says nothing about the plugin.
        if (probe) ejection.probeAbandoned();
        throw new RequestCancelled();
      }
      const message = err instanceof Error ? err.message : String(err);
      const kind = failureKind(err);
      ctx.logger.error({ plugin: filter.name, hook, kind, trap: err instanceof GuestTrap, failure: filter.failure }, `filter failed: ${message}`);
      this.metrics?.failure(filter.name, hook, kind);
      hookFailed(span, kind, filter.failure === 'open');
      ejection.failed(kind, Date.now(), probe);
      if (filter.failure === 'open') return CONTINUE;
      throw new FilterFailure(500, 'filter_failed', filter.name, hook, message);
    } finally {
      endSpan(span);
      const ms = performance.now() - started;
      ctx.filterMs[filter.name] = (ctx.filterMs[filter.name] ?? 0) + ms;
      if (this.metrics) this.seriesOf(filter, hook, this.metrics).observe(ms / 1000);
    }
  }

  private seriesOf(filter: ChainFilter, hook: HookName, metrics: Metrics): HistogramSeries {
    let byHook = this.series.get(filter);
    if (!byHook) this.series.set(filter, (byHook = {}));
    return (byHook[hook] ??= metrics.hookSeries(filter.name, hook));
  }

  /** The plugin is ejected: its hooks are not called; `open` skips it, `closed` answers 503. */
  private ejected(filter: ChainFilter, hook: HookName, waitMs: number): Action {
    if (filter.failure === 'open') return CONTINUE;
    const retryAfterS = Math.max(1, Math.ceil(waitMs / 1000));
    throw new FilterFailure(503, 'plugin_ejected', filter.name, hook, `plugin ${filter.name} is ejected after repeated failures; retry in ${retryAfterS} s`, retryAfterS);
  }
}
