/**
 * A filter as a chain sees it: a loaded plugin's pool, what it declared in configure, and the
 * operator's policy for it; plus the host calls it may make while one of its hooks runs.
 */
import type { FilterInfo, HostCalls, LogLevel, Subrequest, SubrequestResult } from '../component/types.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { PluginPool } from '../pool/plugin-pool.ts';
import type { ParentRequest, PluginSubrequestPolicy, SubrequestBridge } from '../subrequest/index.ts';
import type { RequestContext } from './request-context.ts';

export type FailureMode = 'open' | 'closed';

export interface ChainFilter {
  /** The plugin's name in the config. */
  readonly name: string;
  readonly pool: PluginPool;
  readonly info: FilterInfo;
  readonly failure: FailureMode;
  readonly subrequests: PluginSubrequestPolicy;
}

/**
 * The imports one hook call of `filter` sees, bound to the request `ctx`. One small object per
 * call, methods on the prototype: everything else (the sub-request parent, the child logger) is
 * made only when the guest actually calls out or logs, which most hooks never do.
 */
export class FilterHost implements HostCalls {
  private readonly filter: Pick<ChainFilter, 'name' | 'subrequests'>;
  private readonly ctx: RequestContext;
  private readonly bridge: SubrequestBridge;
  private readonly metrics: Metrics | undefined;

  constructor(filter: Pick<ChainFilter, 'name' | 'subrequests'>, ctx: RequestContext, bridge: SubrequestBridge, metrics?: Metrics) {
    this.filter = filter;
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
    return this.ctx.store.get(`${this.filter.name}\u0000${key}`);
  }

  contextSet(key: string, value: Uint8Array): void {
    this.ctx.store.set(`${this.filter.name}\u0000${key}`, value);
  }

  log(level: LogLevel, msg: string): void {
    this.ctx.logger.child({ plugin: this.filter.name })[level]({ guest: true }, msg);
  }
}
