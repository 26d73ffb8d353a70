/** Answers the gateway itself gives (errors, rejections), always JSON or the filter's own body. */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { HeaderList } from '../component/types.ts';

/**
 * The fixed text a client gets for each kind of error the gateway answers itself. Nothing else
 * reaches the client: trap messages carry guest pointers, socket errors internal addresses, and
 * exception text whatever a plugin or a dependency chose to put there. The detail is logged
 * (the access-log line, keyed by request id) for the operator.
 */
const MESSAGES: Readonly<Record<string, string>> = {
  bad_request: 'the request target is not acceptable',
  no_route: 'no route matches the request',
  loop_detected: 'the request exceeded the maximum call depth',
  overloaded: 'the gateway is overloaded; retry shortly',
  filter_failed: 'a filter failed to process the request',
  pool_exhausted: 'a filter has no capacity left; retry shortly',
  plugin_ejected: 'a filter is out of service after repeated failures; retry later',
  endpoint_refused: 'a filter chose an endpoint outside its upstream',
  body_too_large: 'the request body exceeds a limit',
  response_too_large: 'the upstream response exceeds a limit',
  upstream_failed: 'the upstream could not be reached',
  timeout: 'the route timeout elapsed',
  upstream_timeout: 'the upstream did not answer in time',
  request_timeout: 'the request body stopped arriving',
};

/** What an error body may name besides its type: values from config, never from a failure. */
export interface ErrorFacts {
  plugin?: string;
  hook?: string;
  limit?: number;
}

/** The message for `type`; a type without its own text gets the status's reason phrase. */
export function errorMessage(status: number, type: string): string {
  return MESSAGES[type] ?? STATUS_CODES[status] ?? 'error';
}

/**
 * Writes `{"error":{type,message,requestId,...facts}}` with the request id also as
 * `x-request-id`, and returns the bytes written (0 when the head had already gone: the
 * connection is cut instead, the only honest signal left).
 */
export function sendError(
  res: ServerResponse, status: number, type: string, requestId: string,
  facts: ErrorFacts = {}, headers: Record<string, string> = {},
): number {
  if (res.headersSent) {
    res.destroy();
    return 0;
  }
  const body = Buffer.from(JSON.stringify({ error: { type, message: errorMessage(status, type), requestId, ...facts } }));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, 'x-request-id': requestId, ...headers });
  res.end(body);
  return body.length;
}

/** Writes a head from a header list, dropping framing headers the host sets itself. */
export function writeHead(res: ServerResponse, status: number, headers: HeaderList, contentLength?: number): void {
  const flat: string[] = [];
  for (const [k, v] of headers) {
    if (k === 'content-length' || k === 'transfer-encoding' || k === 'connection' || k === 'keep-alive') continue;
    flat.push(k, v);
  }
  // A 204 has no body and must not claim one (RFC 9110 8.6).
  if (contentLength !== undefined && status !== 204) flat.push('content-length', String(contentLength));
  res.writeHead(status, flat);
}

/**
 * Drops an upstream body nobody will read. undici's body stream errors with "Request aborted"
 * when destroyed unread; without a listener that error would crash the process.
 */
export function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}
