/**
 * Everything the host keeps for one client request across its hooks and retry attempts:
 * identity, deadline, the abort signal every sub-request listens to, the request-scoped store
 * (checkpoints survive retries), and what the access log reports.
 */
import type { Logger } from 'pino';
import type { LogLevel } from '../component/types.ts';
import type { SubrequestRecord } from '../subrequest/index.ts';
import { type TraceContext, startTrace } from '../subrequest/identity.ts';
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

interface ContextInit {
  id: string;
  route: string;
  timeoutMs: number;
  /** The client's trace; undefined starts a new one, when first read (most requests never read it). */
  trace: TraceContext | undefined;
  depth: number;
  logger: Logger;
  /** Another context's store, shared (an upstream-phase stream behind Envoy sees its route phase's). */
  store?: RequestStore;
}

/**
 * A class rather than an object literal with getters: the literal made three closures per
 * request, and its lazy parts (the child logger, the store) live in fields here.
 */
class ExchangeContext implements RequestContext {
  readonly id: string;
  attempt = 1;
  readonly route: string;
  readonly deadline: number;
  readonly controller = new AbortController();
  private traceContext: TraceContext | undefined;
  readonly depth: number;
  readonly subrequests: SubrequestRecord[] = [];
  readonly filterMs: Record<string, number> = {};
  private readonly parentLogger: Logger;
  private childLogger: Logger | undefined;
  private requestStore: RequestStore | undefined;

  constructor(init: ContextInit) {
    this.id = init.id;
    this.route = init.route;
    this.deadline = Date.now() + init.timeoutMs;
    this.traceContext = init.trace;
    this.depth = init.depth;
    this.parentLogger = init.logger;
    this.requestStore = init.store;
  }

  /** Most requests never log beyond the access line: the child logger is made only when asked. */
  get logger(): Logger {
    this.childLogger ??= this.parentLogger.child({ requestId: this.id });
    return this.childLogger;
  }

  /** Only a sub-request reads the trace: a new one's random ids are drawn then, not per request. */
  get trace(): TraceContext {
    this.traceContext ??= startTrace();
    return this.traceContext;
  }

  /** A child logger has its parent's level: the parent answers for it. */
  logs(level: LogLevel): boolean {
    return this.parentLogger.isLevelEnabled(level);
  }

  /** Most requests' filters never touch the context store: it is made on first use. */
  get store(): RequestStore {
    this.requestStore ??= new RequestStore();
    return this.requestStore;
  }
}

export function createRequestContext(init: ContextInit): RequestContext {
  return new ExchangeContext(init);
}
