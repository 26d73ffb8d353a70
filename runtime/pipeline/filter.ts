/**
 * A filter as a chain sees it: a loaded plugin's pool, what it declared in configure, and the
 * operator's policy for it; plus the host calls it may make while one of its hooks runs.
 */
import type { FilterInfo, HostCalls } from '../component/types.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { PluginPool } from '../pool/plugin-pool.ts';
import type { PluginSubrequestPolicy, SubrequestBridge } from '../subrequest/index.ts';
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

/** The imports one hook call of `filter` sees, bound to the request `ctx`. */
export function hostCallsFor(filter: ChainFilter, ctx: RequestContext, bridge: SubrequestBridge, metrics?: Metrics): HostCalls {
  const prefix = `${filter.name}\u0000`;
  const parent = {
    get requestId() { return ctx.id; },
    get attempt() { return ctx.attempt; },
    traceparent: ctx.trace,
    depth: ctx.depth,
    deadline: ctx.deadline,
    signal: ctx.controller.signal,
    record: (entry: RequestContext['subrequests'][number]) => {
      ctx.subrequests.push(entry);
      metrics?.subrequest(entry.plugin, entry.outcome, entry.durationMs / 1000);
    },
  };
  // Made on the first guest log line only: most hooks never log.
  let log: RequestContext['logger'] | undefined;
  return {
    httpSubrequest: (req) => bridge.send(parent, filter.subrequests, req),
    httpSubrequestAll: (reqs) => bridge.sendAll(parent, filter.subrequests, reqs),
    contextGet: (key) => ctx.store.get(prefix + key),
    contextSet: (key, value) => { ctx.store.set(prefix + key, value); },
    log: (level, msg) => {
      log ??= ctx.logger.child({ plugin: filter.name });
      log[level]({ guest: true }, msg);
    },
  };
}
