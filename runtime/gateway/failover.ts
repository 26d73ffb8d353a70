/**
 * The two phases of a request: the route's filters once, then attempts (attempt.ts) until one
 * answers, a filter rejects, or the retries or the route's deadline run out. A retriable outcome
 * (connect failure, timeout, 502/503/504, a status in the route's `retryOn`) counts against the
 * endpoint's passive health and moves the next attempt to the next priority group.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHead } from '../component/types.ts';
import type { RouteConfig } from '../config/types.ts';
import { BodyTooLarge } from '../pipeline/body-flow.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { RequestContext } from '../pipeline/request-context.ts';
import { responseHeaderList } from '../subrequest/index.ts';
import { type AttemptOutcome, attempt, upstreamOf } from './attempt.ts';
import { withoutClientPick } from './endpoint-pick.ts';
import type { ExchangeClock } from './exchange-clock.ts';
import { type BodySource, contentLengthOf, runFilterPhase } from './filter-phase.ts';
import { discard } from './responses.ts';
import { sendResponse } from './response-phase.ts';
import type { ExchangeRecord, GatewayState } from './state.ts';

/** Whether an upstream status is retried: 502/503/504 and the route's `retryOn` (no Set built per request). */
function retriableStatus(status: number, route: RouteConfig): boolean {
  return status === 502 || status === 503 || status === 504 || (route.retryOn !== undefined && route.retryOn.includes(status));
}

/** The client's body: read whole (bounded) when retries may replay it, else streamed. */
export type ReadBody = (max: number) => Promise<Buffer | undefined>;

export async function runAttempts(
  gw: GatewayState, ctx: RequestContext, route: RouteConfig, pipeline: Pipeline, original: RequestHead,
  req: IncomingMessage | undefined, readAll: ReadBody, res: ServerResponse, ex: ExchangeRecord, clock: ExchangeClock,
): Promise<void> {
  const retries = route.retries ?? 0;
  // A retry replays the body, so with retries it is kept (bounded); otherwise it streams.
  let source: BodySource | IncomingMessage = req;
  if (req && retries > 0) {
    const max = route.maxRetryBodyBytes ?? 1024 * 1024;
    const all = await readAll(max);
    if (!all) throw new BodyTooLarge('(route retry buffer)', max);
    source = all;
  }
  // The destination header is the filters' to set: a client's own would steer routing.
  const routed = await runFilterPhase(pipeline, ctx, withoutClientPick(original), source, contentLengthOf(original.headers));
  if (routed.kind === 'rejected') return send(ctx, pipeline, routed, res, ex, clock);
  const upstream = upstreamOf(gw, route, routed);
  const backends = gw.upstreams.backends(upstream);
  const health = gw.upstreams.health(upstream);
  const cursor = backends.cursor();
  for (;;) {
    const outcome = await attempt(gw, ctx, original, routed, upstream, cursor, ex);
    if (outcome.kind === 'rejected') return send(ctx, pipeline, outcome, res, ex, clock);
    const key = outcome.endpoint.origin + outcome.endpoint.basePath;
    const failed = outcome.kind === 'failed' || retriableStatus(outcome.response.statusCode, route);
    if (failed) health.failure(key, Date.now());
    else health.success(key);
    gw.metrics?.upstreamAttempt(upstream, ex.backend ?? '', outcome.kind === 'failed' ? 'failed' : String(outcome.response.statusCode));
    // Only a whole body can be sent again; and never past the route's deadline.
    const canRetry = ctx.attempt <= retries && (routed.body === undefined || Buffer.isBuffer(routed.body))
      && !ctx.controller.signal.aborted && Date.now() < ctx.deadline;
    if (outcome.kind === 'failed') {
      if (!canRetry) throw outcome.error;
    } else if (!failed || !canRetry) return send(ctx, pipeline, outcome, res, ex, clock);
    else discard(outcome.response.body);
    ctx.attempt++;
    backends.advance(cursor);
  }
}

/** The answer: a rejection's, or the upstream's response, through the response hooks of the filters that passed. */
function send(
  ctx: RequestContext, pipeline: Pipeline, o: Exclude<AttemptOutcome, { kind: 'failed' }>,
  res: ServerResponse, ex: ExchangeRecord, clock: ExchangeClock,
): Promise<void> {
  return o.kind === 'rejected'
    ? sendResponse(ctx, pipeline, o.passed, { status: o.rejection.status, headers: o.rejection.headers }, Buffer.from(o.rejection.body ?? []), res, ex, clock)
    : sendResponse(ctx, pipeline, o.passed, { status: o.response.statusCode, headers: responseHeaderList(o.response.headers) }, o.response.body, res, ex, clock);
}
