/**
 * The part of Envoy's ext_proc messages this service reads and writes, as `@grpc/proto-loader`
 * decodes them (camelCase fields, enum names, bytes as Buffer), and the conversions between
 * Envoy's header maps and the host's header lists.
 */
import type { HeaderList } from '../component/types.ts';

export interface HeaderValue { key: string; value?: string; rawValue?: Buffer }
export interface HeaderMap { headers?: HeaderValue[] }
export interface HttpHeaders { headers?: HeaderMap; endOfStream?: boolean }
export interface HttpBody { body?: Buffer; endOfStream?: boolean }
export interface HttpTrailers { trailers?: HeaderMap }

export type Phase = 'requestHeaders' | 'responseHeaders' | 'requestBody' | 'responseBody' | 'requestTrailers' | 'responseTrailers';

export interface ProcessingRequest {
  requestHeaders?: HttpHeaders;
  responseHeaders?: HttpHeaders;
  requestBody?: HttpBody;
  responseBody?: HttpBody;
  requestTrailers?: HttpTrailers;
  responseTrailers?: HttpTrailers;
  /** Which branch of the oneof is set. */
  request?: Phase;
  /** The `request_attributes` Envoy was told to send (first message only), by filter name. */
  attributes?: Record<string, Struct>;
}

export type AppendAction = 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';
export interface HeaderValueOption { header: HeaderValue; appendAction: AppendAction }
export interface HeaderMutation { setHeaders?: HeaderValueOption[]; removeHeaders?: string[] }
export interface BodyMutation { body?: Buffer; clearBody?: boolean }
export interface CommonResponse {
  status?: 'CONTINUE' | 'CONTINUE_AND_REPLACE';
  headerMutation?: HeaderMutation;
  bodyMutation?: BodyMutation;
}
export interface ImmediateResponse { status: { code: number }; headers?: HeaderMutation; body?: Buffer; details?: string }

export type HeaderSendMode = 'DEFAULT' | 'SEND' | 'SKIP';
export type BodySendMode = 'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL';
export interface ProcessingMode {
  requestHeaderMode?: HeaderSendMode;
  responseHeaderMode?: HeaderSendMode;
  requestBodyMode?: BodySendMode;
  responseBodyMode?: BodySendMode;
  requestTrailerMode?: HeaderSendMode;
  responseTrailerMode?: HeaderSendMode;
}

/** google.protobuf.Struct, as far as the endpoint-picker metadata needs it. */
export interface Struct { fields: Record<string, { stringValue?: string; structValue?: Struct }> }

export interface ProcessingResponse {
  requestHeaders?: { response?: CommonResponse };
  responseHeaders?: { response?: CommonResponse };
  requestBody?: { response?: CommonResponse };
  responseBody?: { response?: CommonResponse };
  requestTrailers?: { headerMutation?: HeaderMutation };
  responseTrailers?: { headerMutation?: HeaderMutation };
  immediateResponse?: ImmediateResponse;
  dynamicMetadata?: Struct;
  modeOverride?: ProcessingMode;
}

/** A header's value: Envoy sends `raw_value` (bytes) since 1.27, `value` before. */
function valueOf(h: HeaderValue): string {
  return h.rawValue && h.rawValue.length > 0 ? h.rawValue.toString('latin1') : (h.value ?? '');
}

/** Envoy's header map split into its pseudo-headers (`:path`, `:status`...) and the rest, names lower-cased. */
export function splitHeaders(map: HeaderMap | undefined): { pseudo: Map<string, string>; headers: HeaderList } {
  const pseudo = new Map<string, string>();
  const headers: HeaderList = [];
  for (const h of map?.headers ?? []) {
    const key = h.key.toLowerCase();
    if (key.startsWith(':')) pseudo.set(key, valueOf(h));
    else headers.push([key, valueOf(h)]);
  }
  return { pseudo, headers };
}

/** One header to set, written in both value fields so Envoy before and after 1.27 reads it. */
export function option(name: string, value: string, appendAction: AppendAction = 'OVERWRITE_IF_EXISTS_OR_ADD'): HeaderValueOption {
  return { header: { key: name, value, rawValue: Buffer.from(value, 'latin1') }, appendAction };
}

/**
 * The edit that turns header list `before` into `after`, as Envoy applies it: a name whose values
 * changed is overwritten by its first new value and appended with the rest; a name gone is removed.
 */
export function headerDiff(before: HeaderList, after: HeaderList): HeaderMutation | undefined {
  const group = (list: HeaderList) => {
    const m = new Map<string, string[]>();
    for (const [k, v] of list) (m.get(k) ?? m.set(k, []).get(k)!).push(v);
    return m;
  };
  const old = group(before);
  const now = group(after);
  const setHeaders: HeaderValueOption[] = [];
  const removeHeaders: string[] = [];
  for (const [name, values] of now) {
    const prior = old.get(name);
    if (prior && prior.length === values.length && prior.every((v, i) => v === values[i])) continue;
    values.forEach((v, i) => setHeaders.push(option(name, v, i === 0 ? 'OVERWRITE_IF_EXISTS_OR_ADD' : 'APPEND_IF_EXISTS_OR_ADD')));
  }
  for (const name of old.keys()) if (!now.has(name)) removeHeaders.push(name);
  if (setHeaders.length === 0 && removeHeaders.length === 0) return undefined;
  return { setHeaders, removeHeaders };
}

/** Headers of an answer the service gives itself (a rejection, an error): all set, none appended to. */
export function headersToSet(list: HeaderList): HeaderMutation {
  const seen = new Set<string>();
  return {
    setHeaders: list.map(([k, v]) => {
      const first = !seen.has(k);
      seen.add(k);
      return option(k, v, first ? 'OVERWRITE_IF_EXISTS_OR_ADD' : 'APPEND_IF_EXISTS_OR_ADD');
    }),
  };
}
