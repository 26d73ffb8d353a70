/**
 * Host-side view of the praxis:filter world (wit/praxis.wit; 0.2.0 adds `keyvalue` and `clock`, 0.1.0 still loads).
 * Every binding (the jco glue, the fast path) lifts and lowers to exactly these shapes,
 * so the pipeline never knows which binding runs a filter.
 */
import type { KvResult } from '../keyvalue/types.ts';

/** Header pairs in order; the host hands names in lower case. */
export type HeaderList = Array<[string, string]>;

export interface RequestHead {
  method: string;
  path: string;
  authority: string;
  headers: HeaderList;
}

export interface ResponseHead {
  status: number;
  headers: HeaderList;
}

export interface RequestInfo {
  requestId: string;
  attempt: number;
  route: string;
}

export interface Rejection {
  status: number;
  headers: HeaderList;
  body?: Uint8Array;
}

export interface Mutations {
  setHeaders: HeaderList;
  removeHeaders: string[];
  body?: Uint8Array;
  upstream?: string;
}

export type Action =
  | { tag: 'continue'; mutations?: Mutations }
  | { tag: 'reject'; rejection: Rejection }
  | { tag: 'release' }
  | { tag: 'body-done' };

export type BodyMode =
  | { tag: 'none' }
  | { tag: 'stream' }
  | { tag: 'stream-buffer'; maxBytes: number };

/** WIT `flags header-hooks`: the header hooks a filter implements; the host calls no other. */
export interface HeaderHooks {
  requestHeaders: boolean;
  responseHeaders: boolean;
}

export interface FilterInfo {
  name: string;
  requestBody: BodyMode;
  responseBody: BodyMode;
  headerHooks: HeaderHooks;
}

export interface Subrequest {
  method: string;
  url: string;
  headers: HeaderList;
  body?: Uint8Array;
  timeoutMs?: number;
}

export interface Subresponse {
  status: number;
  headers: HeaderList;
  body: Uint8Array;
}

export type SubrequestError =
  | { tag: 'timeout' }
  | { tag: 'too-large' }
  | { tag: 'denied'; reason: string }
  | { tag: 'overloaded' }
  | { tag: 'cancelled' }
  | { tag: 'connect'; reason: string }
  | { tag: 'protocol'; reason: string };

export type SubrequestResult =
  | { ok: true; value: Subresponse }
  | { ok: false; error: SubrequestError };

export type ConfigureResult = { ok: true; value: FilterInfo } | { ok: false; error: string };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type { KvError, KvResult } from '../keyvalue/types.ts';

/**
 * What a guest may call while one hook runs. The pipeline hands a fresh HostCalls to every
 * hook call: instances are pooled, not pinned to a request, so the request an import acts
 * for is known only per call.
 */
export interface HostCalls {
  httpSubrequest(req: Subrequest): Promise<SubrequestResult>;
  httpSubrequestAll(reqs: Subrequest[]): Promise<SubrequestResult[]>;
  contextGet(key: string): Uint8Array | undefined;
  contextSet(key: string, value: Uint8Array): void;
  log(level: LogLevel, msg: string): void;
  /** The `keyvalue` interface (0.2.0): bounded by the request's deadline and cancelled with it. */
  kvGet(namespace: string, key: string): Promise<KvResult<Uint8Array | undefined>>;
  kvSet(namespace: string, key: string, value: Uint8Array, ttlMs?: number): Promise<KvResult<void>>;
  kvDelete(namespace: string, key: string): Promise<KvResult<boolean>>;
  kvIncrement(namespace: string, key: string, delta: bigint, ttlMs?: number): Promise<KvResult<bigint>>;
  kvCompareAndSwap(namespace: string, key: string, expected: Uint8Array | undefined, value: Uint8Array, ttlMs?: number): Promise<KvResult<boolean>>;
  /** The `clock` interface (0.2.0): wall-clock ms since the Unix epoch, a whole number. */
  clockNowMs(): number;
  /** The `clock` interface (0.2.0): monotonic whole ms since an arbitrary start; never goes back. */
  clockMonotonicMs(): number;
}

/** One live instance of a filter component. One call at a time (the pool guarantees it). */
export interface FilterInstance {
  configure(host: HostCalls, config: string): Promise<ConfigureResult>;
  onRequestHeaders(host: HostCalls, info: RequestInfo, head: RequestHead): Promise<Action>;
  onRequestBody(host: HostCalls, info: RequestInfo, chunk: Uint8Array, endOfStream: boolean): Promise<Action>;
  onResponseHeaders(host: HostCalls, info: RequestInfo, head: ResponseHead): Promise<Action>;
  onResponseBody(host: HostCalls, info: RequestInfo, chunk: Uint8Array, endOfStream: boolean): Promise<Action>;
  /** Current size of the guest's linear memory, in bytes. */
  memoryBytes(): number;
}

/** Makes instances of one loaded component. */
export interface ComponentFactory {
  /** Which binding runs the instances: the specialised fast path or the general jco glue. */
  readonly binding: 'fast' | 'jco';
  instantiate(): Promise<FilterInstance>;
}
