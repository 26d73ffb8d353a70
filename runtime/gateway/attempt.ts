/**
 * One attempt at a request: its request hooks, its body through the filters that asked for it,
 * and the upstream call. What comes back is a rejection to answer, a failure to retry or
 * report, or the upstream's response to send back through the response hooks.
 */
import type { IncomingMessage } from 'node:http';
import type { Dispatcher } from 'undici';
import type { HeaderList, RequestHead } from '../component/types.ts';
import type { RouteConfig } from '../config/types.ts';
import { BodyRejected, BodyTooLarge, flowThrough, passChunk } from '../pipeline/body-flow.ts';
import type { ChainFilter } from '../pipeline/filter.ts';
import { getHeader } from '../pipeline/headers.ts';
import { FilterFailure } from '../pipeline/invoke.ts';
import { type Pipeline, applyRequestMutations } from '../pipeline/pipeline.ts';
import type { RequestContext } from '../pipeline/request-context.ts';
import { ATTEMPT_HEADER, DEPTH_HEADER, isHopByHop } from '../subrequest/index.ts';
import { DESTINATION_HEADER, withoutClientPick } from './endpoint-pick.ts';
import type { ExchangeRecord, GatewayState } from './state.ts';
import type { Endpoint } from './upstreams.ts';

const EMPTY = Buffer.alloc(0);

function contentLengthOf(headers: HeaderList): number | undefined {
  const v = getHeader(headers, 'content-length');
  return v === undefined ? undefined : Number(v);
}

type AttemptOutcome =
  | { kind: 'rejected'; rejection: { status: number; headers: HeaderList; body?: Uint8Array }; passed: ChainFilter[] }
  | { kind: 'failed'; error: unknown }
  | { kind: 'proxied'; response: Dispatcher.ResponseData; passed: ChainFilter[] };

export async function attempt(
  gw: GatewayState, ctx: RequestContext, route: RouteConfig, pipeline: Pipeline,
  original: RequestHead, source: IncomingMessage | Buffer | undefined, start: number, ex: ExchangeRecord,
): Promise<AttemptOutcome> {
  // The destination header is the filters' to set: a client's own would steer routing.
  const out = await pipeline.requestHeaders(ctx, withoutClientPick(original));
  if (out.rejection) return { kind: 'rejected', rejection: out.rejection.rejection, passed: out.passed };
  const chain = pipeline.bodyChain(ctx, out.passed, 'request');
  let body: Buffer | AsyncIterable<Buffer> | undefined = out.body ? Buffer.from(out.body) : source;
  let modified = out.body !== undefined;
  if (out.body === undefined && chain.wanted && (source === undefined || Buffer.isBuffer(source))) {
    // The whole body is at hand (or there is none): one pass, with no flow to drive.
    modified = true;
    let chunks: Buffer[];
    try {
      ({ chunks } = await passChunk(chain, source ?? EMPTY, true, (ms) => { for (const m of ms) applyRequestMutations(out, m); }));
    } catch (err) {
      if (err instanceof BodyRejected) return rejectedBy(err, out.passed);
      throw err;
    }
    if (out.body !== undefined) body = Buffer.from(out.body);
    else body = chunks.length === 0 ? undefined : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  } else if (out.body === undefined && chain.wanted) {
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
      if (err instanceof BodyRejected) return rejectedBy(err, out.passed);
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
  const picked = getHeader(out.head.headers, DESTINATION_HEADER);
  const endpoint = picked === undefined
    ? gw.upstreams.pick(upstream, ctx.attempt, upstream === route.upstream ? start : 0)
    : pickedEndpoint(gw, ctx, upstream, picked, out.endpointPickedBy ?? out.passed.at(-1)?.name ?? '?');
  ex.upstream = upstream;
  ex.endpoint = endpoint.origin;
  const headers = upstreamHeaders(out.head.headers, ctx, modified ? undefined : getHeader(original.headers, 'content-length'), body);
  try {
    const response = await gw.upstreams.agent(upstream).request({
      origin: endpoint.origin, path: endpoint.basePath + out.head.path, method: out.head.method as Dispatcher.HttpMethod,
      headers, body: (body ?? null) as Dispatcher.DispatchOptions['body'], signal: ctx.controller.signal,
    });
    return { kind: 'proxied', response, passed: out.passed };
  } catch (thrown) {
    // A body stage's error reaches here as undici's request error, or as its cause.
    const err = ownError(thrown);
    if (err instanceof BodyRejected) return rejectedBy(err, out.passed);
    if (err instanceof BodyTooLarge || err instanceof FilterFailure) throw err;
    if (ctx.controller.signal.aborted) throw err;
    ctx.logger.warn({ endpoint: endpoint.origin, attempt: ctx.attempt, err: (err as Error).message }, 'upstream attempt failed');
    return { kind: 'failed', error: err };
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

/** A body stage rejected: the response hooks run for the filters before it. */
function rejectedBy(err: BodyRejected, passed: ChainFilter[]): AttemptOutcome {
  const at = passed.findIndex((f) => f.name === err.plugin);
  return { kind: 'rejected', rejection: err.rejection, passed: at < 0 ? passed : passed.slice(0, at) };
}

async function* prepend(first: Buffer, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  yield* rest;
}

/**
 * The head for the upstream. Framing is the gateway's alone: hop-by-hop headers and `expect` a
 * filter set are dropped (undici refuses them, which read as an upstream failure), and the length
 * is the body's own: the client's for a body passed through (`clientLength`), the buffer's for
 * one a filter replaced; never a content-length a filter set over a body it did not change.
 */
function upstreamHeaders(headers: HeaderList, ctx: RequestContext, clientLength: string | undefined, body: unknown): string[] {
  const flat: string[] = [];
  for (const [k, v] of headers) {
    if (k === 'host' || k === DEPTH_HEADER || k === 'x-request-id' || k === ATTEMPT_HEADER || k === DESTINATION_HEADER) continue;
    if (k === 'content-length' || k === 'expect' || isHopByHop(k)) continue;
    flat.push(k, v);
  }
  if (clientLength !== undefined) flat.push('content-length', clientLength);
  else if (Buffer.isBuffer(body)) flat.push('content-length', String(body.length));
  flat.push('x-request-id', ctx.id, ATTEMPT_HEADER, String(ctx.attempt), DEPTH_HEADER, String(ctx.depth + 1));
  return flat;
}
