/**
 * The praxis world in the JavaScript shapes jco's glue lifts and lowers: the host-side values
 * (types.ts) converted to and from them, and the praxis imports an instance is given.
 */
import type {
  Action, BodyMode, FilterInfo, HeaderList, HostCalls, LogLevel, Mutations,
  RequestHead, RequestInfo, ResponseHead, Subrequest, SubrequestError, SubrequestResult,
} from './types.ts';
import { CLOCK_FUEL, HOST_CALL_FUEL, KV_FUEL, LOG_FUEL, SUBREQUEST_FUEL, bytesFuel, chargeFuel } from './host-fuel.ts';
import type { KvResult } from '../keyvalue/types.ts';
import { clockU64 } from './host-clock.ts';

// ---- shapes of jco's JS values for the praxis world ----
type JcoVariant<T extends string, V = undefined> = { tag: T; val: V };
interface JcoMutations { setHeaders: HeaderList; removeHeaders: string[]; body?: Uint8Array; upstream?: string }
export type JcoAction =
  | JcoVariant<'continue', JcoMutations | undefined>
  | JcoVariant<'reject', { status: number; headers: HeaderList; body?: Uint8Array }>
  | JcoVariant<'release'>
  | JcoVariant<'body-done'>;
type JcoBodyMode = JcoVariant<'none'> | JcoVariant<'stream'> | JcoVariant<'stream-buffer', number>;
/** jco lifts `flags` as an object of booleans, one per flag, camelCase. */
interface JcoHeaderHooks { requestHeaders: boolean; responseHeaders: boolean }
export interface JcoFilterInfo { name: string; requestBody: JcoBodyMode; responseBody: JcoBodyMode; headerHooks: JcoHeaderHooks }
export interface JcoFilter {
  configure(config: string): JcoFilterInfo | Promise<JcoFilterInfo>;
  onRequestHeaders(info: RequestInfo, head: RequestHead): JcoAction | Promise<JcoAction>;
  onRequestBody(info: RequestInfo, chunk: Uint8Array, eos: boolean): JcoAction | Promise<JcoAction>;
  onResponseHeaders(info: RequestInfo, head: ResponseHead): JcoAction | Promise<JcoAction>;
  onResponseBody(info: RequestInfo, chunk: Uint8Array, eos: boolean): JcoAction | Promise<JcoAction>;
}
type JcoSubrequestError = { tag: SubrequestError['tag']; val?: string };

/** jco's import functions return the ok value of a result and throw `{ payload }` for its error. */
class ResultError extends Error {
  readonly payload: unknown;
  constructor(payload: unknown) {
    super('result error');
    this.payload = payload;
  }
}

/** A store call's answer as jco's glue takes it: the ok value, or a thrown kv-error variant. */
function kvValue<T>(r: KvResult<T>): T {
  if (r.ok) return r.value;
  throw new ResultError({ tag: r.error.tag, val: r.error.reason });
}

function toJcoError(e: SubrequestError): JcoSubrequestError {
  return 'reason' in e ? { tag: e.tag, val: e.reason } : { tag: e.tag };
}

function toJcoResult(r: SubrequestResult): JcoVariant<'ok', unknown> | JcoVariant<'err', JcoSubrequestError> {
  return r.ok ? { tag: 'ok', val: r.value } : { tag: 'err', val: toJcoError(r.error) };
}

function fromBodyMode(m: JcoBodyMode): BodyMode {
  return m.tag === 'stream-buffer' ? { tag: 'stream-buffer', maxBytes: m.val } : { tag: m.tag };
}

function fromMutations(m: JcoMutations): Mutations {
  const out: Mutations = { setHeaders: m.setHeaders, removeHeaders: m.removeHeaders };
  if (m.body !== undefined) out.body = m.body;
  if (m.upstream !== undefined) out.upstream = m.upstream;
  return out;
}

export function fromAction(a: JcoAction): Action {
  switch (a.tag) {
    case 'continue': return a.val === undefined ? { tag: 'continue' } : { tag: 'continue', mutations: fromMutations(a.val) };
    case 'reject': {
      const { status, headers, body } = a.val;
      return { tag: 'reject', rejection: body === undefined ? { status, headers } : { status, headers, body } };
    }
    default: return { tag: a.tag };
  }
}

function toJcoSubrequestInput(req: { method: string; url: string; headers: HeaderList; body?: Uint8Array; timeoutMs?: number }): Subrequest {
  const out: Subrequest = { method: req.method, url: req.url, headers: req.headers };
  if (req.body !== undefined) out.body = req.body;
  if (req.timeoutMs !== undefined) out.timeoutMs = req.timeoutMs;
  return out;
}

export interface CallState {
  host: HostCalls | undefined;
  /** Every core instance's fuel global: a host call costs the guest fuel (host-fuel.ts). */
  fuel: readonly WebAssembly.Global[];
}

function hostOf(state: CallState): HostCalls {
  if (!state.host) throw new Error('host call outside of a hook');
  return state.host;
}

const JCO_CALL_FACTOR = 10;

export function buildImports(state: CallState): Record<string, unknown> {
  // jco's glue lifts and lowers each call in JavaScript: measured about 10x the fast binding's host time per call.
  const charge = (units: number) => chargeFuel(state.fuel, units * JCO_CALL_FACTOR);
  return {
    'praxis:filter/http-client': {
      httpSubrequest: async (req: Subrequest) => {
        charge(SUBREQUEST_FUEL + bytesFuel(req.url.length + (req.body?.byteLength ?? 0)));
        const r = await hostOf(state).httpSubrequest(toJcoSubrequestInput(req));
        if (r.ok) return r.value;
        throw new ResultError(toJcoError(r.error));
      },
      httpSubrequestAll: async (reqs: Subrequest[]) => {
        charge(reqs.length * SUBREQUEST_FUEL);
        return (await hostOf(state).httpSubrequestAll(reqs.map(toJcoSubrequestInput))).map(toJcoResult);
      },
    },
    'praxis:filter/context': {
      get: (key: string) => {
        charge(HOST_CALL_FUEL + bytesFuel(key.length));
        return hostOf(state).contextGet(key);
      },
      set: (key: string, value: Uint8Array) => {
        charge(HOST_CALL_FUEL + bytesFuel(key.length + value.byteLength));
        hostOf(state).contextSet(key, value);
      },
    },
    'praxis:filter/log': {
      log: (level: LogLevel, msg: string) => {
        charge(LOG_FUEL + bytesFuel(msg.length));
        hostOf(state).log(level, msg);
      },
    },
    // 0.2.0; an 0.1.0 component's glue never asks for it.
    'praxis:filter/keyvalue': {
      get: async (store: string, key: string) => {
        charge(KV_FUEL + bytesFuel(store.length + key.length));
        return kvValue(await hostOf(state).kvGet(store, key));
      },
      set: async (store: string, key: string, value: Uint8Array, ttlMs: number | undefined) => {
        charge(KV_FUEL + bytesFuel(store.length + key.length + value.byteLength));
        kvValue(await hostOf(state).kvSet(store, key, value, ttlMs));
      },
      delete: async (store: string, key: string) => {
        charge(KV_FUEL + bytesFuel(store.length + key.length));
        return kvValue(await hostOf(state).kvDelete(store, key));
      },
      increment: async (store: string, key: string, delta: bigint, ttlMs: number | undefined) => {
        charge(KV_FUEL + bytesFuel(store.length + key.length));
        return kvValue(await hostOf(state).kvIncrement(store, key, delta, ttlMs));
      },
      compareAndSwap: async (store: string, key: string, expected: Uint8Array | undefined, value: Uint8Array, ttlMs: number | undefined) => {
        charge(KV_FUEL + bytesFuel(store.length + key.length + value.byteLength + (expected?.byteLength ?? 0)));
        return kvValue(await hostOf(state).kvCompareAndSwap(store, key, expected, value, ttlMs));
      },
    },
    // 0.2.0: synchronous (no JSPI suspension); jco lowers the u64 from a BigInt.
    'praxis:filter/clock': {
      nowMs: () => {
        charge(CLOCK_FUEL);
        return clockU64(hostOf(state).clockNowMs());
      },
      monotonicMs: () => {
        charge(CLOCK_FUEL);
        return clockU64(hostOf(state).clockMonotonicMs());
      },
    },
    'praxis:filter/types': {},
  };
}

export function fromFilterInfo(info: JcoFilterInfo): FilterInfo {
  return {
    name: info.name,
    requestBody: fromBodyMode(info.requestBody),
    responseBody: fromBodyMode(info.responseBody),
    headerHooks: { requestHeaders: info.headerHooks.requestHeaders, responseHeaders: info.headerHooks.responseHeaders },
  };
}
