/**
 * One client exchange, end to end: request hooks, body through the filters that asked for it,
 * the upstream call (with retries and failover), response hooks, the response body streamed
 * back, and one access-log line.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { HeaderList, RequestHead } from '../component/types.ts';
import type { RouteConfig } from '../config/types.ts';
import { BodyRejected, BodyTooLarge, flowThrough } from '../pipeline/body-flow.ts';
import type { ChainFilter } from '../pipeline/filter.ts';
import { fromRawHeaders, getHeader } from '../pipeline/headers.ts';
import { FilterFailure, RequestCancelled } from '../pipeline/invoke.ts';
import { type Pipeline, applyRequestMutations } from '../pipeline/pipeline.ts';
import { type RequestContext, createRequestContext } from '../pipeline/request-context.ts';
import { ATTEMPT_HEADER, DEPTH_HEADER, isHopByHop, parseTraceparent, startTrace } from '../subrequest/index.ts';
import type { GatewayState } from './state.ts';
import { discard, sendJsonError, writeHead } from './responses.ts';
import { matchRoute } from './routes.ts';
import { sendResponse } from './response-phase.ts';

const RETRY_STATUSES = new Set([502, 503, 504]);

interface Exchange {
  status: number;
  bytesOut: number;
  upstream?: string;
  endpoint?: string;
}

function contentLengthOf(headers: HeaderList): number | undefined {
  const v = getHeader(headers, 'content-length');
  return v === undefined ? undefined : Number(v);
}

/** Whether the client sends a body: from the raw request, since transfer-encoding is hop-by-hop and gone from the head. */
function hasBody(req: IncomingMessage): boolean {
  const cl = Number(req.headers['content-length'] ?? 0);
  return cl > 0 || req.headers['transfer-encoding'] !== undefined;
}

async function readAll(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) return undefined;
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

export async function handleExchange(gw: GatewayState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const headers = fromRawHeaders(req.rawHeaders);
  const id = getHeader(headers, 'x-request-id') || randomUUID();
  const path = req.url ?? '/';
  // A negative (or unparsable) depth from outside counts as 0: it must not buy a loop extra levels.
  const depth = Math.max(0, Number(getHeader(headers, DEPTH_HEADER) ?? 0) || 0);
  const log = (status: number, extra: Record<string, unknown>) => {
    const ms = performance.now() - started;
    gw.metrics?.request(typeof extra.route === 'string' ? extra.route : '', status, ms / 1000);
    gw.accessLog.info({ id, method: req.method, path, status, durationMs: +ms.toFixed(3), ...extra }, 'access');
  };

  if (depth > gw.maxDepth) {
    sendJsonError(res, 508, 'loop_detected', `call depth ${depth} exceeds the maximum of ${gw.maxDepth}`);
    return log(508, { depth });
  }
  if (gw.bridge.saturated()) {
    sendJsonError(res, 429, 'overloaded', 'too many sub-requests in flight; retry shortly', {}, { 'retry-after': '1' });
    return log(429, {});
  }
  const route = matchRoute(gw.routes, path, headers);
  if (!route) {
    sendJsonError(res, 404, 'no_route', `no route matches ${path}`);
    return log(404, {});
  }
  const pipeline = gw.pipelines.get(route.name)!;
  const ctx = createRequestContext({
    id, route: route.name, timeoutMs: route.timeoutMs ?? 30_000,
    trace: parseTraceparent(getHeader(headers, 'traceparent')) ?? startTrace(), depth, logger: gw.logger,
  });
  res.on('close', () => { if (!res.writableFinished) ctx.controller.abort(new RequestCancelled()); });
  const timer = setTimeout(() => ctx.controller.abort(new Error('route timeout')), route.timeoutMs ?? 30_000);
  const head: RequestHead = {
    method: req.method ?? 'GET', path, authority: getHeader(headers, 'host') ?? '',
    headers: headers.filter(([k]) => !isHopByHop(k)),
  };
  const ex: Exchange = { status: 0, bytesOut: 0 };
  try {
    await runAttempts(gw, ctx, route, pipeline, head, req, res, ex);
  } catch (err) {
    ex.status = failureResponse(err, ctx, res, ex);
  } finally {
    clearTimeout(timer);
    log(ex.status, {
      route: route.name, upstream: ex.upstream, endpoint: ex.endpoint, attempt: ctx.attempt, bytesOut: ex.bytesOut,
      filters: roundAll(ctx.filterMs), subrequests: ctx.subrequests,
    });
  }
}

function roundAll(o: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) out[k] = +v.toFixed(3);
  return out;
}

function failureResponse(err: unknown, ctx: RequestContext, res: ServerResponse, ex: Exchange): number {
  // The client went away: whatever failed after that (a pool wait that timed out, say) is moot.
  if (ctx.controller.signal.reason instanceof RequestCancelled) {
    res.destroy();
    return 499;
  }
  if (err instanceof FilterFailure) {
    sendJsonError(res, err.status, err.type, err.message, { plugin: err.plugin, hook: err.hook });
    return err.status;
  }
  if (err instanceof BodyTooLarge) {
    sendJsonError(res, 413, 'body_too_large', err.message, { plugin: err.plugin, limit: err.limit });
    return 413;
  }
  if (ctx.controller.signal.aborted) {
    const cancelled = ctx.controller.signal.reason instanceof RequestCancelled;
    if (cancelled || res.headersSent) {
      res.destroy();
      return cancelled ? 499 : ex.status || 504;
    }
    sendJsonError(res, 504, 'timeout', 'the route timeout elapsed');
    return 504;
  }
  ctx.logger.error({ err }, 'exchange failed');
  sendJsonError(res, 502, 'upstream_failed', (err as Error).message ?? String(err));
  return 502;
}

async function runAttempts(
  gw: GatewayState, ctx: RequestContext, route: RouteConfig, pipeline: Pipeline,
  head: RequestHead, req: IncomingMessage, res: ServerResponse, ex: Exchange,
): Promise<void> {
  const retries = route.retries ?? 0;
  // A retry replays the body, so with retries it is kept (bounded); otherwise it streams.
  let source: IncomingMessage | Buffer | undefined = hasBody(req) ? req : undefined;
  if (source && retries > 0) {
    const all = await readAll(req, route.maxRetryBodyBytes ?? 1024 * 1024);
    if (!all) throw new BodyTooLarge('(route retry buffer)', route.maxRetryBodyBytes ?? 1024 * 1024);
    source = all;
  }
  const start = gw.upstreams.startIndex(route.upstream);
  for (;;) {
    const outcome = await attempt(gw, ctx, route, pipeline, head, source, start, ex);
    if (outcome.kind === 'rejected') {
      return sendResponse(gw, ctx, pipeline, outcome.passed, { status: outcome.rejection.status, headers: outcome.rejection.headers }, Buffer.from(outcome.rejection.body ?? []), res, ex);
    }
    const canRetry = ctx.attempt <= retries && !(source && !Buffer.isBuffer(source));
    if (outcome.kind === 'failed') {
      if (canRetry && !ctx.controller.signal.aborted) { ctx.attempt++; continue; }
      throw outcome.error;
    }
    if (RETRY_STATUSES.has(outcome.response.statusCode) && canRetry) {
      discard(outcome.response.body);
      ctx.attempt++;
      continue;
    }
    const { response } = outcome;
    return sendResponse(gw, ctx, pipeline, outcome.passed, { status: response.statusCode, headers: responseHeaders(response.headers) }, response.body, res, ex);
  }
}

function responseHeaders(h: Dispatcher.ResponseData['headers']): HeaderList {
  const out: HeaderList = [];
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || isHopByHop(k)) continue;
    if (Array.isArray(v)) for (const x of v) out.push([k, x]);
    else out.push([k, v]);
  }
  return out;
}

type AttemptOutcome =
  | { kind: 'rejected'; rejection: { status: number; headers: HeaderList; body?: Uint8Array }; passed: ChainFilter[] }
  | { kind: 'failed'; error: unknown }
  | { kind: 'proxied'; response: Dispatcher.ResponseData; passed: ChainFilter[] };

async function attempt(
  gw: GatewayState, ctx: RequestContext, route: RouteConfig, pipeline: Pipeline,
  original: RequestHead, source: IncomingMessage | Buffer | undefined, start: number, ex: Exchange,
): Promise<AttemptOutcome> {
  const out = await pipeline.requestHeaders(ctx, original);
  if (out.rejection) return { kind: 'rejected', rejection: out.rejection.rejection, passed: out.passed };
  const chain = pipeline.bodyChain(ctx, out.passed, 'request');
  let body: Buffer | AsyncIterable<Buffer> | undefined = out.body ? Buffer.from(out.body) : source;
  let modified = out.body !== undefined;
  if (out.body === undefined && chain.wanted) {
    modified = true;
    let started = false;
    const state = { ended: false };
    const flow = flowThrough(chain, source ?? Buffer.alloc(0), contentLengthOf(original.headers), (ms) => {
      if (started) return ctx.logger.debug('request mutations after the upstream call started are ignored');
      for (const m of ms) applyRequestMutations(out, m);
    }, state);
    let first: IteratorResult<Buffer>;
    try {
      first = await flow.next();
    } catch (err) {
      if (err instanceof BodyRejected) return { kind: 'rejected', rejection: err.rejection, passed: out.passed.slice(0, out.passed.findIndex((f) => f.name === err.plugin)) };
      throw err;
    }
    started = true;
    if (out.body !== undefined) body = Buffer.from(out.body);
    else if (first.done) body = undefined;
    else if (state.ended) {
      // The whole (held) body is already through the chain: send it with a content-length.
      const rest: Buffer[] = [first.value];
      for await (const c of flow) rest.push(c);
      body = rest.length === 1 ? rest[0]! : Buffer.concat(rest);
    } else body = prepend(first.value, flow);
  }
  const upstream = out.upstream ?? route.upstream;
  if (!gw.upstreams.has(upstream)) {
    throw new FilterFailure(502, 'filter_failed', out.passed.at(-1)?.name ?? '?', 'on-request-headers', `a filter chose upstream "${upstream}", which is not configured`);
  }
  const endpoint = gw.upstreams.pick(upstream, ctx.attempt, upstream === route.upstream ? start : 0);
  ex.upstream = upstream;
  ex.endpoint = endpoint.origin;
  const headers = upstreamHeaders(out.head.headers, ctx, modified, body);
  try {
    const response = await gw.upstreams.agent.request({
      origin: endpoint.origin, path: endpoint.basePath + out.head.path, method: out.head.method as Dispatcher.HttpMethod,
      headers, body: (body ?? null) as Dispatcher.DispatchOptions['body'], signal: ctx.controller.signal,
    });
    return { kind: 'proxied', response, passed: out.passed };
  } catch (err) {
    if (err instanceof BodyRejected || (err as { cause?: unknown }).cause instanceof BodyRejected) {
      const r = err instanceof BodyRejected ? err : ((err as { cause: BodyRejected }).cause);
      return { kind: 'rejected', rejection: r.rejection, passed: out.passed.slice(0, out.passed.findIndex((f) => f.name === r.plugin)) };
    }
    if (err instanceof BodyTooLarge || err instanceof FilterFailure || (err as { cause?: unknown }).cause instanceof FilterFailure) {
      throw err instanceof Error && (err as { cause?: unknown }).cause instanceof FilterFailure ? (err as { cause: unknown }).cause : err;
    }
    if (ctx.controller.signal.aborted) throw err;
    ctx.logger.warn({ endpoint: endpoint.origin, attempt: ctx.attempt, err: (err as Error).message }, 'upstream attempt failed');
    return { kind: 'failed', error: err };
  }
}

async function* prepend(first: Buffer, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  yield* rest;
}

function upstreamHeaders(headers: HeaderList, ctx: RequestContext, bodyModified: boolean, body: unknown): string[] {
  const flat: string[] = [];
  for (const [k, v] of headers) {
    if (k === 'host' || k === DEPTH_HEADER || k === 'x-request-id' || k === ATTEMPT_HEADER) continue;
    if (bodyModified && k === 'content-length') continue;
    flat.push(k, v);
  }
  if (bodyModified && Buffer.isBuffer(body)) flat.push('content-length', String(body.length));
  flat.push('x-request-id', ctx.id, ATTEMPT_HEADER, String(ctx.attempt), DEPTH_HEADER, String(ctx.depth + 1));
  return flat;
}

export { writeHead };
