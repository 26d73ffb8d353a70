/**
 * The hook sequence of one exchange on one instance, in the gateway's order and with its rules:
 * a header hook the filter did not declare is not called, a body hook runs only for a body mode
 * other than none, a reject ends the exchange, `release`/`body-done` stop the body calls.
 * Header mutations are applied with the pipeline's own `applyHeaderMutations`.
 */
import type { Action, FilterInfo, FilterInstance, HeaderList, HostCalls, Mutations, RequestInfo } from '../component/types.ts';
import { PATH_PSEUDO, applyHeaderMutations, filterPath, getHeader } from '../pipeline/headers.ts';
import type { SubrequestMade } from './mocked-bridge.ts';

export type Hook = 'on-request-headers' | 'on-request-body' | 'on-response-headers' | 'on-response-body';

/** Headers as an object (one value per name) or as ordered pairs. */
export type HeadersInput = Record<string, string> | HeaderList;
/** A body as text or bytes, or a list of chunks (each its own body hook call). */
export type BodyInput = string | Uint8Array | Array<string | Uint8Array>;

export interface ExchangeInput {
  /** Defaults: GET /, no headers (authority from `host`, else localhost), no body. */
  request?: { method?: string; path?: string; headers?: HeadersInput; body?: BodyInput };
  /** What the upstream answers. Defaults: 200, no headers, no body. */
  response?: { status?: number; headers?: HeadersInput; body?: BodyInput };
}

export interface LogLine {
  level: string;
  msg: string;
}

export interface Step {
  hook: Hook;
  action: Action;
}

export interface ExchangeResult {
  /** What configure declared. */
  filter: FilterInfo;
  /** Every hook call and what it returned, in order. */
  steps: Step[];
  /** Set when a hook rejected: the answer the client gets instead. */
  rejected?: { hook: Hook; status: number; headers: HeaderList; body: string };
  /** The request as the upstream would get it (after the filter's mutations). */
  request: { method: string; path: string; headers: HeaderList; body: string; upstream?: string };
  /** The response as the client would get it (the rejection, else the upstream's after mutations). */
  response: { status: number; headers: HeaderList; body: string };
  /** The filter's log lines (and the host's warnings about it). */
  logs: LogLine[];
  /** Every sub-request the filter made, mocked or not. */
  subrequests: SubrequestMade[];
}

function headerList(h: HeadersInput | undefined): HeaderList {
  if (h === undefined) return [];
  const pairs = Array.isArray(h) ? h : Object.entries(h);
  return pairs.map(([k, v]) => [k.toLowerCase(), v]);
}

function chunks(body: BodyInput | undefined): Uint8Array[] {
  if (body === undefined) return [new Uint8Array(0)];
  const list = Array.isArray(body) ? body : [body];
  if (list.length === 0) return [new Uint8Array(0)];
  return list.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c));
}

const text = (parts: Uint8Array[]) => Buffer.concat(parts).toString('utf8');

/**
 * Body chunks through one body hook. A chunk the filter replaced (mutations.body) is replaced in
 * the output; after `release` or `body-done` the rest passes unseen, as in the gateway.
 */
async function runBody(
  hook: Extract<Hook, 'on-request-body' | 'on-response-body'>,
  parts: Uint8Array[],
  call: (chunk: Uint8Array, end: boolean) => Promise<Action>,
  steps: Step[],
): Promise<{ out: Uint8Array[]; last: Action }> {
  const out: Uint8Array[] = [];
  let last: Action = { tag: 'continue' };
  for (let i = 0; i < parts.length; i++) {
    const chunk = parts[i]!;
    last = await call(chunk, i === parts.length - 1);
    steps.push({ hook, action: last });
    if (last.tag === 'reject') break;
    out.push(last.tag === 'continue' && last.mutations?.body !== undefined ? last.mutations.body : chunk);
    if (last.tag === 'release' || last.tag === 'body-done') {
      out.push(...parts.slice(i + 1));
      break;
    }
  }
  return { out, last };
}

export async function runHooks(
  instance: FilterInstance,
  host: HostCalls,
  info: RequestInfo,
  filter: FilterInfo,
  input: ExchangeInput,
  logs: LogLine[],
  subrequests: SubrequestMade[],
): Promise<ExchangeResult> {
  const req = input.request ?? {};
  const res = input.response ?? {};
  const steps: Step[] = [];
  let headers = headerList(req.headers);
  const method = req.method ?? 'GET';
  let path = req.path ?? '/';
  // A request filter's `:path` is the upstream's path, as in the gateway (never a header).
  const requestMutations = (m: Mutations): HeaderList => {
    const rewrite = m.setHeaders.findLast(([k]) => k === PATH_PSEUDO);
    if (rewrite) path = filterPath(rewrite[1]) ?? path;
    return applyHeaderMutations(headers, { ...m, setHeaders: m.setHeaders.filter(([k]) => k !== PATH_PSEUDO) });
  };
  let upstream: string | undefined;
  let reqBody = chunks(req.body);
  const status = res.status ?? 200;
  let respHeaders = headerList(res.headers);
  let respBody = chunks(res.body);
  const result = (rejected?: ExchangeResult['rejected']): ExchangeResult => ({
    filter,
    steps,
    ...(rejected ? { rejected } : {}),
    request: { method, path, headers, body: text(reqBody), ...(upstream !== undefined ? { upstream } : {}) },
    response: rejected ? { status: rejected.status, headers: rejected.headers, body: rejected.body } : { status, headers: respHeaders, body: text(respBody) },
    logs,
    subrequests,
  });
  const reject = (hook: Hook, a: Action) => {
    if (a.tag !== 'reject') return undefined;
    const { status: s, headers: h, body } = a.rejection;
    return result({ hook, status: s, headers: h, body: body ? Buffer.from(body).toString('utf8') : '' });
  };

  if (filter.headerHooks.requestHeaders) {
    const authority = getHeader(headers, 'host') ?? 'localhost';
    const a = await instance.onRequestHeaders(host, info, { method, path, authority, headers });
    steps.push({ hook: 'on-request-headers', action: a });
    if (a.tag === 'reject') return reject('on-request-headers', a)!;
    if (a.tag === 'continue' && a.mutations) {
      headers = requestMutations(a.mutations);
      upstream = a.mutations.upstream ?? upstream;
      if (a.mutations.body !== undefined) reqBody = [a.mutations.body];
    }
  }
  if (filter.requestBody.tag !== 'none') {
    const { out, last } = await runBody('on-request-body', reqBody, (c, end) => instance.onRequestBody(host, info, c, end), steps);
    if (last.tag === 'reject') return reject('on-request-body', last)!;
    reqBody = out;
    if (last.tag === 'continue' && last.mutations) {
      headers = requestMutations(last.mutations);
      upstream = last.mutations.upstream ?? upstream;
    }
  }
  if (filter.headerHooks.responseHeaders) {
    const a = await instance.onResponseHeaders(host, info, { status, headers: respHeaders });
    steps.push({ hook: 'on-response-headers', action: a });
    if (a.tag === 'reject') return reject('on-response-headers', a)!;
    if (a.tag === 'continue' && a.mutations) {
      respHeaders = applyHeaderMutations(respHeaders, a.mutations);
      if (a.mutations.body !== undefined) respBody = [a.mutations.body];
    }
  }
  if (filter.responseBody.tag !== 'none') {
    const { out, last } = await runBody('on-response-body', respBody, (c, end) => instance.onResponseBody(host, info, c, end), steps);
    if (last.tag === 'reject') return reject('on-response-body', last)!;
    respBody = out;
  }
  return result();
}
