/**
 * Everything the host keeps for one client request across its hooks and retry attempts:
 * identity, deadline, the abort signal every sub-request listens to, the request-scoped store
 * (checkpoints survive retries), and what the access log reports.
 */
import type { Logger } from 'pino';
import type { LogLevel } from '../component/types.ts';
import type { SubrequestRecord, TraceContext } from '../subrequest/index.ts';
import { RequestStore } from './context-store.ts';

export interface RequestContext {
  readonly id: string;
  attempt: number;
  readonly route: string;
  readonly deadline: number;
  readonly controller: AbortController;
  readonly trace: TraceContext;
  readonly depth: number;
  readonly logger: Logger;
  /** Whether a line at `level` would be written, answered without making the request's child logger. */
  logs(level: LogLevel): boolean;
  /** Request-scoped store, one bounded namespace per plugin; kept across attempts. */
  readonly store: RequestStore;
  readonly subrequests: SubrequestRecord[];
  /** Milliseconds spent in each plugin's hooks. */
  readonly filterMs: Record<string, number>;
}

export function createRequestContext(init: {
  id: string;
  route: string;
  timeoutMs: number;
  trace: TraceContext;
  depth: number;
  logger: Logger;
}): RequestContext {
  let logger: Logger | undefined;
  let store: RequestStore | undefined;
  return {
    id: init.id,
    attempt: 1,
    route: init.route,
    deadline: Date.now() + init.timeoutMs,
    controller: new AbortController(),
    trace: init.trace,
    depth: init.depth,
    // Most requests never log beyond the access line: make the child logger only when asked.
    get logger() {
      logger ??= init.logger.child({ requestId: init.id });
      return logger;
    },
    // A child logger has its parent's level: the parent answers for it.
    logs: (level) => init.logger.isLevelEnabled(level),
    // Most requests' filters never touch the context store: it is made on first use.
    get store() {
      store ??= new RequestStore();
      return store;
    },
    subrequests: [],
    filterMs: {},
  };
}
