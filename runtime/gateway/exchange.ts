/**
 * One client exchange, end to end: request hooks, body through the filters that asked for it,
 * the upstream call (with retries and failover), response hooks, the response body streamed
 * back, and one access-log line.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HeaderList, RequestHead } from '../component/types.ts';
import type { RouteConfig } from '../config/types.ts';
import { BodyTooLarge } from '../pipeline/body-flow.ts';
import { fromRawHeaders, getHeader } from '../pipeline/headers.ts';
import { FilterFailure, RequestCancelled } from '../pipeline/invoke.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { admit, requestIdentity } from '../pipeline/admission.ts';
import type { RequestContext } from '../pipeline/request-context.ts';
import { stripHopByHop } from '../subrequest/index.ts';
import { bindRequest, endServerSpan, startServerSpan } from '../observability/tracing.ts';
import { ExchangeClock } from './exchange-clock.ts';
import { type ReadBody, runAttempts } from './failover.ts';
import { LISTEN_DEFAULTS, RequestBodyTimeout, watchRequestBody } from './listener.ts';
import type { ExchangeRecord, GatewayState } from './state.ts';
import { sendError } from './responses.ts';

/** Whether the client sends a body: from the raw request, since transfer-encoding is hop-by-hop and gone from the head. */
function hasBody(req: IncomingMessage): boolean {
  const cl = Number(req.headers['content-length'] ?? 0);
  return cl > 0 || req.headers['transfer-encoding'] !== undefined;
}

/** The whole body, or undefined past `max`; ends (rejecting) when `signal` aborts, so a stalled upload cannot hold it. */
function readAll(req: IncomingMessage, max: number, signal: AbortSignal): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const finish = (settle: () => void) => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
      signal.removeEventListener('abort', onAbort);
      settle();
    };
    const onData = (c: Buffer) => {
      n += c.length;
      if (n <= max) return void chunks.push(c);
      req.pause();
      finish(() => resolve(undefined));
    };
    const onEnd = () => finish(() => resolve(Buffer.concat(chunks)));
    const onError = (err: Error) => finish(() => reject(err));
    const onAbort = () => {
      req.pause();
      finish(() => reject(signal.reason));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

function hostCount(raw: string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') n++;
  return n;
}

/** Adds the client's address to x-forwarded-for, and the original host and scheme, as proxies do. */
function withForwarded(headers: HeaderList, req: IncomingMessage): HeaderList {
  // One pass over the list (it is built per request): the earlier x-forwarded-* read and dropped.
  const out: HeaderList = [];
  let forFor: string | undefined;
  let proto: string | undefined;
  let fwdHost: string | undefined;
  let host: string | undefined;
  for (const h of headers) {
    const k = h[0];
    if (k.startsWith('x-forwarded-')) {
      if (k === 'x-forwarded-for') forFor = forFor === undefined ? h[1] : `${forFor}, ${h[1]}`;
      else if (k === 'x-forwarded-proto') proto ??= h[1];
      else if (k === 'x-forwarded-host') fwdHost ??= h[1];
      else out.push(h);
      continue;
    }
    if (host === undefined && k === 'host') host = h[1];
    out.push(h);
  }
  const addr = req.socket.remoteAddress;
  if (addr) forFor = forFor === undefined ? addr : `${forFor}, ${addr}`;
  if (forFor !== undefined) out.push(['x-forwarded-for', forFor]);
  out.push(['x-forwarded-proto', proto ?? 'http']);
  const forwardedHost = fwdHost ?? host;
  if (forwardedHost) out.push(['x-forwarded-host', forwardedHost]);
  return out;
}

export async function handleExchange(gw: GatewayState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const headers = fromRawHeaders(req.rawHeaders);
  const identity = requestIdentity(headers);
  const { id } = identity;
  const target = req.url ?? '/';
  const span = startServerSpan(headers, req.method ?? 'GET', target, id);
  // What the access log shows: the normalised path once there is one, the raw target before.
  let path = target;
  // The access record is built only when the access log writes it: a silent one costs nothing per request.
  const accessOn = gw.accessLog.isLevelEnabled('info');
  // `extra`: the access line's own fields, built by the caller only while the access log is on.
  const log = (status: number, routeName: string, extra: Record<string, unknown> | undefined) => {
    const ms = performance.now() - started;
    gw.metrics?.request(routeName, status, ms / 1000);
    if (accessOn) gw.accessLog.info({ id, method: req.method, path, status, durationMs: Math.round(ms * 1000) / 1000, ...extra }, 'access');
    endServerSpan(span, status);
  };
  const bounds = gw.listen ?? LISTEN_DEFAULTS;
  const withBody = hasBody(req);
  // While attempts run, a stalled upload aborts the exchange (408); before or after, its connection goes.
  let onBodyIdle: (() => void) | undefined;
  if (withBody) {
    watchRequestBody(req, bounds.requestBodyIdleTimeoutMs, () => (onBodyIdle ? onBodyIdle() : req.socket.destroy()));
  }

  // RFC 9112 3.2: a request with more than one Host is refused, so routing (the first) and a
  // filter reading another one cannot disagree about where the request is going.
  const admission = admit(gw, { identity, target, headers, malformed: hostCount(req.rawHeaders) > 1 ? 'more than one Host header' : undefined });
  if (admission.kind === 'refused') {
    if (admission.path !== undefined) path = admission.path;
    sendError(res, admission.status, admission.type, id, {}, admission.status === 429 ? { 'retry-after': '1' } : {});
    return log(admission.status, '', admission.log);
  }
  const { route, ctx } = admission;
  path = admission.path;
  const pipeline = gw.pipelines.get(route.name)!;
  bindRequest(ctx, span, req.method ?? 'GET', route.name);
  res.on('close', () => { if (!res.writableFinished) ctx.controller.abort(new RequestCancelled()); });
  const clock = new ExchangeClock(ctx.controller, route.timeoutMs ?? 30_000, route.idleTimeoutMs ?? 60_000);
  // Closures only a request with a body needs (most requests have none).
  if (withBody) {
    onBodyIdle = () => {
      if (res.headersSent) req.socket.destroy();
      else ctx.controller.abort(new RequestBodyTimeout(bounds.requestBodyIdleTimeoutMs));
    };
  }
  const head: RequestHead = {
    method: req.method ?? 'GET', path, authority: getHeader(headers, 'host') ?? '',
    headers: withForwarded(stripHopByHop(headers), req),
  };
  const ex: ExchangeRecord = { status: 0, bytesOut: 0 };
  // The internal reason behind an error answer: for the log only, never for the client.
  let detail: string | undefined;
  try {
    await runAttempts(gw, ctx, route, pipeline, head, withBody ? req : undefined, withBody ? (max) => readAll(req, max, ctx.controller.signal) : NO_BODY, res, ex, clock);
  } catch (err) {
    // An abort's own reason (which timeout, or the client) says more than the error it caused.
    const why: unknown = ctx.controller.signal.aborted ? ctx.controller.signal.reason : err;
    detail = why instanceof Error ? why.message : String(why);
    ex.status = failureResponse(err, ctx, res, ex);
  } finally {
    clock.stop();
    onBodyIdle = undefined;
    log(ex.status, route.name, !accessOn ? undefined : {
      route: route.name, upstream: ex.upstream, backend: ex.backend, endpoint: ex.endpoint, attempt: ctx.attempt, bytesOut: ex.bytesOut,
      filters: roundAll(ctx.filterMs), subrequests: ctx.subrequests, ...(detail !== undefined ? { detail } : {}),
      ...(path === target ? {} : { target }),
    });
  }
}

/** A request without a body has nothing to read for a retry (runAttempts never asks). */
const NO_BODY: ReadBody = () => Promise.resolve(undefined);

function roundAll(o: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k in o) out[k] = Math.round(o[k]! * 1000) / 1000;
  return out;
}

function failureResponse(err: unknown, ctx: RequestContext, res: ServerResponse, ex: ExchangeRecord): number {
  // The client went away: whatever failed after that (a pool wait that timed out, say) is moot.
  if (ctx.controller.signal.reason instanceof RequestCancelled) {
    res.destroy();
    return 499;
  }
  if (err instanceof FilterFailure) {
    const retry: Record<string, string> = err.retryAfterS !== undefined ? { 'retry-after': String(err.retryAfterS) } : {};
    sendError(res, err.status, err.type, ctx.id, { plugin: err.plugin, hook: err.hook }, retry);
    return err.status;
  }
  if (err instanceof BodyTooLarge) {
    sendError(res, 413, 'body_too_large', ctx.id, { plugin: err.plugin, limit: err.limit });
    return 413;
  }
  if (ctx.controller.signal.reason instanceof RequestBodyTimeout) {
    // The rest of the body will not come: the connection cannot carry another request.
    sendError(res, 408, 'request_timeout', ctx.id, {}, { connection: 'close' });
    return 408;
  }
  if (ctx.controller.signal.aborted) {
    // The route timeout (before the head) or the idle timeout (after it); the client is handled above.
    if (res.headersSent) {
      res.destroy();
      return ex.status || 504;
    }
    sendError(res, 504, 'timeout', ctx.id);
    return 504;
  }
  if ((err as { code?: unknown } | null)?.code === 'UND_ERR_HEADERS_TIMEOUT') {
    // The upstream's own `timeouts.headersMs` (the route's deadline, still running, is handled above).
    sendError(res, 504, 'upstream_timeout', ctx.id);
    return 504;
  }
  // The error names addresses and socket codes: logged (with the request id), never sent.
  ctx.logger.error({ err }, 'exchange failed');
  sendError(res, 502, 'upstream_failed', ctx.id);
  return 502;
}
