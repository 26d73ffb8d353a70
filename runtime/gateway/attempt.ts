/**
 * One attempt at a request whose route filters have run (filter-phase.ts): the backend and
 * endpoint chosen (backends.ts, or a filter's pick), that backend's upstream filters run over the
 * route's result with this attempt's number, and the upstream call. What comes back is a
 * rejection to answer, a failure to retry or report, or the upstream's response to send back
 * through the response hooks of the upstream filters and then the route's.
 */
import type { Dispatcher } from 'undici';
import type { HeaderList, RequestHead } from '../component/types.ts';
import type { RouteConfig } from '../config/types.ts';
import { BodyRejected, BodyTooLarge } from '../pipeline/body-flow.ts';
import type { ChainFilter } from '../pipeline/filter.ts';
import { getHeader } from '../pipeline/headers.ts';
import { FilterFailure } from '../pipeline/invoke.ts';
import type { RequestContext } from '../pipeline/request-context.ts';
import { endUpstreamSpan, startUpstreamSpan } from '../observability/tracing.ts';
import { ATTEMPT_HEADER, DEPTH_HEADER, isHopByHop, parseTraceparent } from '../subrequest/index.ts';
import { type Backend, type Cursor, backendKey } from './backends.ts';
import { DESTINATION_HEADER } from './endpoint-pick.ts';
import { type PhaseResult, type Rejected, contentLengthOf, rejectedBy, runFilterPhase } from './filter-phase.ts';
import type { ExchangeRecord, GatewayState } from './state.ts';
import type { Endpoint } from './upstreams.ts';

export type AttemptOutcome =
  | Rejected
  | { kind: 'failed'; error: unknown; endpoint: Endpoint }
  | { kind: 'proxied'; response: Dispatcher.ResponseData; passed: ChainFilter[]; endpoint: Endpoint };

/** The upstream the route's filters left the request on; a filter naming one that is not configured fails the request. */
export function upstreamOf(gw: GatewayState, route: RouteConfig, routed: PhaseResult): string {
  const upstream = routed.out.upstream ?? route.upstream;
  if (!gw.upstreams.has(upstream)) {
    throw new FilterFailure(502, 'filter_failed', routed.out.passed.at(-1)?.name ?? '?', 'on-request-headers', `a filter chose upstream "${upstream}", which is not configured`);
  }
  return upstream;
}

export async function attempt(
  gw: GatewayState, ctx: RequestContext, original: RequestHead, routed: PhaseResult,
  upstream: string, cursor: Cursor, ex: ExchangeRecord,
): Promise<AttemptOutcome> {
  const picked = getHeader(routed.out.head.headers, DESTINATION_HEADER);
  const backends = gw.upstreams.backends(upstream);
  let backend: Backend;
  let endpoint: Endpoint;
  if (picked === undefined) ({ backend, endpoint } = backends.choose(cursor));
  else {
    endpoint = pickedEndpoint(gw, ctx, upstream, picked, routed.out.endpointPickedBy ?? routed.out.passed.at(-1)?.name ?? '?');
    backend = backends.backendFor(endpoint);
  }
  ex.upstream = upstream;
  ex.backend = backend.name;
  ex.endpoint = endpoint.origin;
  // The upstream filters see this attempt's number, as the upstream will.
  let { head } = routed.out;
  let { body, modified } = routed;
  let passed = routed.out.passed;
  const pipeline = gw.pipelines.get(backendKey(upstream, backend.name));
  if (pipeline) {
    const attemptHead = { ...head, headers: [...head.headers.filter(([k]) => k !== ATTEMPT_HEADER), [ATTEMPT_HEADER, String(ctx.attempt)] as [string, string]] };
    const length = modified ? (Buffer.isBuffer(body) ? body.length : undefined) : contentLengthOf(original.headers);
    const phase = await runFilterPhase(pipeline, ctx, attemptHead, body, length);
    if (phase.kind === 'rejected') return { ...phase, passed: [...passed, ...phase.passed] };
    if (phase.out.upstream !== undefined && phase.out.upstream !== upstream) ctx.logger.debug({ backend: backend.name }, 'an upstream filter cannot change the upstream; ignored');
    ({ head } = phase.out);
    body = phase.body;
    modified ||= phase.modified;
    passed = [...passed, ...phase.out.passed];
  }
  const headers = upstreamHeaders(head.headers, ctx, modified ? undefined : getHeader(original.headers, 'content-length'), body);
  const span = startUpstreamSpan(ctx, upstream, endpoint.origin, ctx.attempt, headers);
  try {
    const response = await gw.upstreams.agent(upstream).request({
      origin: endpoint.origin, path: endpoint.basePath + head.path, method: head.method as Dispatcher.HttpMethod,
      headers, body: (body ?? null) as Dispatcher.DispatchOptions['body'], signal: ctx.controller.signal,
    });
    endUpstreamSpan(span, response.statusCode);
    return { kind: 'proxied', response, passed, endpoint };
  } catch (thrown) {
    endUpstreamSpan(span, undefined, thrown);
    // A body stage's error reaches here as undici's request error, or as its cause.
    const err = ownError(thrown);
    if (err instanceof BodyRejected) return rejectedBy(err, passed);
    if (err instanceof BodyTooLarge || err instanceof FilterFailure) throw err;
    if (ctx.controller.signal.aborted) throw err;
    ctx.logger.warn({ endpoint: endpoint.origin, backend: backend.name, attempt: ctx.attempt, err: (err as Error).message }, 'upstream attempt failed');
    return { kind: 'failed', error: err, endpoint };
  }
}

/**
 * The endpoint a filter named for this attempt. Entries outside the upstream are never dialled:
 * skipped (logged) while another is allowed, refused with a 502 naming the filter when none is.
 */
function pickedEndpoint(gw: GatewayState, ctx: RequestContext, upstream: string, list: string, plugin: string): Endpoint {
  const result = gw.upstreams.pickListed(upstream, list, ctx.attempt);
  if (!result.ok) {
    throw new FilterFailure(502, 'endpoint_refused', plugin, 'on-request-headers',
      `${DESTINATION_HEADER} names no endpoint of upstream "${upstream}": ${result.refused.join(', ') || '(empty)'}`);
  }
  if (result.skipped.length) ctx.logger.warn({ plugin, upstream, skipped: result.skipped }, 'picked endpoints outside the upstream were skipped');
  return result.endpoint;
}

/** The pipeline's own error behind `thrown` (itself, or the cause undici wrapped it in); else `thrown`. */
function ownError(thrown: unknown): unknown {
  const cause = (thrown as { cause?: unknown } | null)?.cause;
  return cause instanceof BodyRejected || cause instanceof BodyTooLarge || cause instanceof FilterFailure ? cause : thrown;
}

/**
 * The head for the upstream. Framing is the gateway's alone: hop-by-hop headers and `expect` a
 * filter set are dropped (undici refuses them, which read as an upstream failure), and the length
 * is the body's own: the client's for a body passed through (`clientLength`), the buffer's for
 * one a filter replaced; never a content-length a filter set over a body it did not change.
 */
function upstreamHeaders(headers: HeaderList, ctx: RequestContext, clientLength: string | undefined, body: unknown): string[] {
  const flat: string[] = [];
  // A trace context the gateway cannot parse is not passed on raw (tracing, when on, replaces both).
  const badTrace = invalidTrace(headers);
  for (const [k, v] of headers) {
    if (k === 'host' || k === DEPTH_HEADER || k === 'x-request-id' || k === ATTEMPT_HEADER || k === DESTINATION_HEADER) continue;
    if (k === 'content-length' || k === 'expect' || isHopByHop(k)) continue;
    if (badTrace && (k === 'traceparent' || k === 'tracestate')) continue;
    flat.push(k, v);
  }
  if (clientLength !== undefined) flat.push('content-length', clientLength);
  else if (Buffer.isBuffer(body)) flat.push('content-length', String(body.length));
  flat.push('x-request-id', ctx.id, ATTEMPT_HEADER, String(ctx.attempt), DEPTH_HEADER, String(ctx.depth + 1));
  return flat;
}

/** Whether the head carries a `traceparent` that is not a valid W3C one (or more than one). */
function invalidTrace(headers: HeaderList): boolean {
  let seen = 0;
  let valid = true;
  for (const [k, v] of headers) {
    if (k !== 'traceparent') continue;
    seen++;
    valid &&= parseTraceparent(v) !== undefined;
  }
  return seen > 1 || (seen === 1 && !valid);
}
