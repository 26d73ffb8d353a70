/**
 * Runs one hook of one filter for one request: lend an instance, call, time it, give it back;
 * then apply the plugin's failure mode to whatever went wrong.
 */
import { GuestTrap } from '../component/errors.ts';
import type { Action, FilterInstance, HostCalls } from '../component/types.ts';
import { PoolTimeoutError } from '../pool/plugin-pool.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { SubrequestBridge } from '../subrequest/index.ts';
import { type ChainFilter, FilterHost } from './filter.ts';
import type { RequestContext } from './request-context.ts';

export type HookName = 'on-request-headers' | 'on-request-body' | 'on-response-headers' | 'on-response-body';

/** A hook could not produce a decision; the gateway answers with `status`. */
export class FilterFailure extends Error {
  readonly status: number;
  readonly plugin: string;
  readonly hook: HookName;
  readonly type: 'filter_failed' | 'pool_exhausted';
  constructor(status: number, type: FilterFailure['type'], plugin: string, hook: HookName, message: string) {
    super(message);
    this.name = 'FilterFailure';
    this.status = status;
    this.type = type;
    this.plugin = plugin;
    this.hook = hook;
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

// RFC 9110 token for names; values: visible ASCII, obs-text, space and tab (no CR/LF/NUL).
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A header a filter asked for that HTTP cannot carry, described; undefined when all are fine. */
function invalidHeaderIn(action: Action): string | undefined {
  const headers = action.tag === 'continue' ? action.mutations?.setHeaders : action.tag === 'reject' ? action.rejection.headers : undefined;
  if (action.tag === 'reject' && (action.rejection.status < 100 || action.rejection.status > 999)) return `status ${action.rejection.status}`;
  for (const [name, value] of headers ?? []) {
    if (!HEADER_NAME.test(name)) return `name ${JSON.stringify(name)}`;
    if (!HEADER_VALUE.test(value)) return `value of ${name}`;
  }
  return undefined;
}

export class HookInvoker {
  private readonly bridge: SubrequestBridge;
  private readonly metrics: Metrics | undefined;

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
    const host = new FilterHost(filter, ctx, this.bridge, this.metrics);
    const started = performance.now();
    try {
      const action = await filter.pool.use((instance) => call(instance, host), ctx.controller.signal);
      if (ctx.controller.signal.aborted) throw new RequestCancelled();
      const invalid = invalidHeaderIn(action);
      if (invalid) throw new Error(`the filter returned a header that cannot be sent: ${invalid}`);
      return action;
    } catch (err) {
      if (err instanceof RequestCancelled) throw err;
      if (err instanceof PoolTimeoutError) {
        ctx.logger.warn({ plugin: filter.name, hook }, err.message);
        this.metrics?.failure(filter.name, hook, 'pool_exhausted');
        throw new FilterFailure(503, 'pool_exhausted', filter.name, hook, err.message);
      }
      if (ctx.controller.signal.aborted) throw new RequestCancelled();
      const message = err instanceof Error ? err.message : String(err);
      ctx.logger.error({ plugin: filter.name, hook, trap: err instanceof GuestTrap, failure: filter.failure }, `filter failed: ${message}`);
      this.metrics?.failure(filter.name, hook, 'trap');
      if (filter.failure === 'open') return CONTINUE;
      throw new FilterFailure(500, 'filter_failed', filter.name, hook, message);
    } finally {
      const ms = performance.now() - started;
      ctx.filterMs[filter.name] = (ctx.filterMs[filter.name] ?? 0) + ms;
      this.metrics?.hook(filter.name, hook, ms / 1000);
    }
  }
}
