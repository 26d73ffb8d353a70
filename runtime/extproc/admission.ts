/**
 * A request as Envoy first shows it, before any filter runs: its identity (request id, attempt,
 * traceparent, depth), the gateway's refusals (loop guard, saturation, an unacceptable path),
 * and the route chosen by the gateway's matcher, in the gateway's order.
 */
import { randomUUID } from 'node:crypto';
import type { HeaderList, RequestHead } from '../component/types.ts';
import type { RouteConfig } from '../config/types.ts';
import { normaliseTarget } from '../gateway/paths.ts';
import { getHeader } from '../pipeline/headers.ts';
import { type RequestContext, createRequestContext } from '../pipeline/request-context.ts';
import { bindRequest, startServerSpan } from '../observability/tracing.ts';
import { DEPTH_HEADER, parseTraceparent, startTrace } from '../subrequest/index.ts';
import { errorAnswer } from './answers.ts';
import type { HeaderMap, ImmediateResponse } from './messages.ts';
import { splitHeaders } from './messages.ts';
import type { ExtProcState } from './state.ts';

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
/** Envoy's count of tries for this request (with `include_attempt_count_in_request`). */
const ENVOY_ATTEMPT = 'x-envoy-attempt-count';

export type Admission =
  | { kind: 'refused'; id: string; answer: ImmediateResponse }
  | { kind: 'admitted'; id: string; route: RouteConfig; ctx: RequestContext; head: RequestHead; target: string; idIsNew: boolean };

export function admit(state: ExtProcState, map: HeaderMap | undefined): Admission {
  const { pseudo, headers } = splitHeaders(map);
  const incoming = getHeader(headers, 'x-request-id');
  const idIsNew = incoming === undefined || !REQUEST_ID.test(incoming);
  const id = idIsNew ? randomUUID() : incoming;
  const refused = (answer: ImmediateResponse): Admission => ({ kind: 'refused', id, answer });
  // A negative (or unparsable) depth counts as 0: it must not buy a loop extra levels.
  const depth = Math.max(0, Number(getHeader(headers, DEPTH_HEADER) ?? 0) || 0);
  if (depth > state.maxDepth) return refused(errorAnswer(508, 'loop_detected', id));
  if (state.bridge.saturated()) return refused(errorAnswer(429, 'overloaded', id, {}, [['retry-after', '1']]));
  const target = pseudo.get(':path') ?? '/';
  const verdict = normaliseTarget(target, state.paths);
  if (!verdict.ok) return refused(errorAnswer(400, 'bad_request', id));
  const authority = pseudo.get(':authority') ?? getHeader(headers, 'host') ?? '';
  // Filters and routes see the authority as `host`, as behind the gateway's own listener.
  const withHost: HeaderList = getHeader(headers, 'host') === undefined && authority ? [...headers, ['host', authority]] : headers;
  const route = state.routes.match(verdict.path, withHost);
  if (!route) return refused(errorAnswer(404, 'no_route', id));
  const ctx = createRequestContext({
    id, route: route.name, timeoutMs: route.timeoutMs ?? 30_000,
    trace: parseTraceparent(getHeader(headers, 'traceparent')) ?? startTrace(), depth, logger: state.logger,
  });
  bindRequest(ctx, startServerSpan(headers, pseudo.get(':method') ?? 'GET', target, id), pseudo.get(':method') ?? 'GET', route.name);
  const attempt = Number(getHeader(headers, ENVOY_ATTEMPT));
  if (Number.isInteger(attempt) && attempt >= 1) ctx.attempt = attempt;
  const head: RequestHead = { method: pseudo.get(':method') ?? 'GET', path: verdict.path + verdict.query, authority, headers: withHost };
  return { kind: 'admitted', id, route, ctx, head, target, idIsNew };
}
