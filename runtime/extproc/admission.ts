/**
 * A request as Envoy first shows it, before any filter runs: the gateway's own admission
 * (pipeline/admission.ts: identity, refusals, route) over Envoy's pseudo-headers, Envoy's
 * attempt count, and a refusal as an immediate response.
 */
import type { HeaderList, RequestHead } from '../component/types.ts';
import { getHeader } from '../pipeline/headers.ts';
import { admit as admitRequest, requestIdentity } from '../pipeline/admission.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { RequestContext } from '../pipeline/request-context.ts';
import { bindRequest, startServerSpan } from '../observability/tracing.ts';
import { errorAnswer } from './answers.ts';
import type { HeaderMap, ImmediateResponse } from './messages.ts';
import { splitHeaders } from './messages.ts';
import type { ExtProcState } from './state.ts';

/** Envoy's count of tries for this request (with `include_attempt_count_in_request`). */
const ENVOY_ATTEMPT = 'x-envoy-attempt-count';

/** Which chain a stream runs: the route's, or one backend's upstream filters (upstream-phase.ts). */
export type StreamPhase = 'route' | { upstream: string; backend: string };

export type Admission =
  | { kind: 'refused'; id: string; answer: ImmediateResponse }
  | {
    kind: 'admitted'; id: string; ctx: RequestContext; head: RequestHead; target: string; idIsNew: boolean;
    pipeline: Pipeline; phase: StreamPhase;
    /** The headers Envoy holds, when not `head.headers`: mutations are told to Envoy against these. */
    base?: HeaderList;
  };

export function admit(state: ExtProcState, map: HeaderMap | undefined): Admission {
  const { pseudo, headers } = splitHeaders(map);
  const identity = requestIdentity(headers);
  const { id, idIsNew } = identity;
  const target = pseudo.get(':path') ?? '/';
  const authority = pseudo.get(':authority') ?? getHeader(headers, 'host') ?? '';
  // Filters and routes see the authority as `host`, as behind the gateway's own listener.
  const withHost: HeaderList = getHeader(headers, 'host') === undefined && authority ? [...headers, ['host', authority]] : headers;
  const a = admitRequest(state, { identity, target, headers: withHost });
  if (a.kind === 'refused') {
    return { kind: 'refused', id, answer: errorAnswer(a.status, a.type, id, {}, a.status === 429 ? [['retry-after', '1']] : []) };
  }
  const { route, ctx } = a;
  bindRequest(ctx, startServerSpan(headers, pseudo.get(':method') ?? 'GET', target, id), pseudo.get(':method') ?? 'GET', route.name);
  const attempt = Number(getHeader(headers, ENVOY_ATTEMPT));
  if (Number.isInteger(attempt) && attempt >= 1) ctx.attempt = attempt;
  const head: RequestHead = { method: pseudo.get(':method') ?? 'GET', path: a.path, authority, headers: withHost };
  return { kind: 'admitted', id, ctx, head, target, idIsNew, pipeline: state.pipelines.get(route.name)!, phase: 'route' };
}
