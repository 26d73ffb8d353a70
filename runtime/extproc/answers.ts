/**
 * What the service tells Envoy besides "continue": answers it gives itself (errors, with the
 * gateway's fixed messages), a filter's rejection, and the endpoint-picker convention of the
 * Gateway API Inference Extension for a filter's choice of upstream.
 */
import { isIP } from 'node:net';
import type { HeaderList } from '../component/types.ts';
import type { UpstreamConfig } from '../config/types.ts';
import { endpointUrlsOf } from '../gateway/backends.ts';
import { type ErrorFacts, errorMessage } from '../gateway/responses.ts';
import { BodyTooLarge } from '../pipeline/body-flow.ts';
import { FilterFailure } from '../pipeline/invoke.ts';
import { DESTINATION_HEADER } from '../pipeline/pipeline.ts';
import { headersToSet, type ImmediateResponse, type Struct } from './messages.ts';

/** The header Envoy's override-host load balancing reads (and the metadata key it mirrors). */
export { DESTINATION_HEADER };
export const LB_NAMESPACE = 'envoy.lb';

/** An answer the service gives itself: the gateway's JSON error body, never internal text. */
export function errorAnswer(status: number, type: string, requestId: string, facts: ErrorFacts = {}, extra: HeaderList = []): ImmediateResponse {
  const body = Buffer.from(JSON.stringify({ error: { type, message: errorMessage(status, type), requestId, ...facts } }));
  return {
    status: { code: status },
    headers: headersToSet([['content-type', 'application/json'], ['x-request-id', requestId], ...extra]),
    body,
    details: `praxis_${type}`,
  };
}

/** The gateway's answer to a pipeline failure (a `closed` filter's, a body over a buffer); undefined for any other error. */
export function failureAnswer(err: unknown, requestId: string, responsePhase: boolean): ImmediateResponse | undefined {
  if (err instanceof FilterFailure) {
    const retry: HeaderList = err.retryAfterS !== undefined ? [['retry-after', String(err.retryAfterS)]] : [];
    return errorAnswer(err.status, err.type, requestId, { plugin: err.plugin, hook: err.hook }, retry);
  }
  if (err instanceof BodyTooLarge) {
    const facts = { plugin: err.plugin, limit: err.limit };
    return responsePhase ? errorAnswer(502, 'response_too_large', requestId, facts) : errorAnswer(413, 'body_too_large', requestId, facts);
  }
  return undefined;
}

/** A filter's own answer (a rejection, after the response hooks saw it). */
export function answer(status: number, headers: HeaderList, body: Uint8Array | undefined): ImmediateResponse {
  return { status: { code: status }, headers: headersToSet(headers.filter(([k]) => k !== 'content-length')), body: Buffer.from(body ?? []), details: 'praxis_filter_rejected' };
}

/**
 * The `ip:port` of each endpoint of an upstream, in order (the first is the choice, the rest the
 * fallback list). Only literal addresses: Envoy's override-host policy takes no names.
 */
export function endpointAddresses(upstream: UpstreamConfig): string[] {
  const out: string[] = [];
  for (const e of endpointUrlsOf('', upstream)) {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      continue;
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) === 0) continue;
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    out.push(isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);
  }
  return out;
}

/** `dynamic_metadata` naming the endpoints under `envoy.lb`, as the endpoint-picker protocol has it. */
export function endpointMetadata(list: string): Struct {
  return { fields: { [LB_NAMESPACE]: { structValue: { fields: { [DESTINATION_HEADER]: { stringValue: list } } } } } };
}
