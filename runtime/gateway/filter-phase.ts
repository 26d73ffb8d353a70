/**
 * One phase of request filters: the request-headers hooks of a chain, then the body through the
 * filters of it that asked for one. The route's filters run it once per client request; a
 * backend's upstream filters run it again on every attempt sent to that backend, over what the
 * route's phase produced (attempt.ts).
 */
import { Readable } from 'node:stream';
import type { HeaderList, RequestHead } from '../component/types.ts';
import { BodyRejected, flowThrough, passChunk } from '../pipeline/body-flow.ts';
import type { ChainFilter } from '../pipeline/filter.ts';
import { getHeader } from '../pipeline/headers.ts';
import { type Pipeline, type RequestHeadersOutcome, applyRequestMutations } from '../pipeline/pipeline.ts';
import type { RequestContext } from '../pipeline/request-context.ts';
import { chunksOf } from '../pipeline/stream-chunks.ts';

const EMPTY = Buffer.alloc(0);

/** A request body as a phase takes and gives it: whole (replayable), streaming, or none. */
export type BodySource = Buffer | AsyncIterable<Buffer> | undefined;

export type Rejected = { kind: 'rejected'; rejection: { status: number; headers: HeaderList; body?: Uint8Array }; passed: ChainFilter[] };

export interface PhaseResult {
  kind: 'ready';
  out: RequestHeadersOutcome;
  body: BodySource;
  /** The body is no longer the one that came in (its length is the gateway's to state). */
  modified: boolean;
}

export function contentLengthOf(headers: HeaderList): number | undefined {
  const v = getHeader(headers, 'content-length');
  return v === undefined ? undefined : Number(v);
}

/** `length`: the incoming body's length when known (for the end-of-stream flag of a streamed body). */
export async function runFilterPhase(
  pipeline: Pipeline, ctx: RequestContext, head: RequestHead, source: BodySource, length: number | undefined,
): Promise<PhaseResult | Rejected> {
  // A filterless chain (a route without filters, a backend without upstream filters): nothing to await.
  const out: RequestHeadersOutcome = pipeline.filters.length === 0 ? { head, passed: [] } : await pipeline.requestHeaders(ctx, head);
  if (out.rejection) return { kind: 'rejected', rejection: out.rejection.rejection, passed: out.passed };
  const chain = pipeline.bodyChain(ctx, out.passed, 'request');
  if (out.body !== undefined) return { kind: 'ready', out, body: Buffer.from(out.body), modified: true };
  if (!chain.wanted) return { kind: 'ready', out, body: source, modified: false };
  if (source === undefined || Buffer.isBuffer(source)) {
    // The whole body is at hand (or there is none): one pass, with no flow to drive.
    let chunks: Buffer[];
    try {
      ({ chunks } = await passChunk(chain, source ?? EMPTY, true, (ms) => { for (const m of ms) applyRequestMutations(out, m); }));
    } catch (err) {
      if (err instanceof BodyRejected) return rejectedBy(err, out.passed);
      throw err;
    }
    if (out.body !== undefined) return { kind: 'ready', out, body: Buffer.from(out.body), modified: true };
    const body = chunks.length === 0 ? undefined : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    return { kind: 'ready', out, body, modified: true };
  }
  let started = false;
  const state = { ended: false };
  // The client's request stream is read without Node's stream iterator (stream-chunks.ts).
  const flow = flowThrough(chain, source instanceof Readable ? chunksOf(source) : source, length, (ms) => {
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
  if (out.body !== undefined) return { kind: 'ready', out, body: Buffer.from(out.body), modified: true };
  if (first.done) return { kind: 'ready', out, body: undefined, modified: true };
  if (state.ended) {
    // The whole (held) body is already through the chain: send it with a content-length.
    const rest: Buffer[] = [first.value];
    for await (const c of flow) rest.push(c);
    return { kind: 'ready', out, body: rest.length === 1 ? rest[0]! : Buffer.concat(rest), modified: true };
  }
  return { kind: 'ready', out, body: prepend(first.value, flow), modified: true };
}

/** A body stage rejected: the response hooks run for the filters before it. */
export function rejectedBy(err: BodyRejected, passed: ChainFilter[]): Rejected {
  const at = passed.findIndex((f) => f.name === err.plugin);
  return { kind: 'rejected', rejection: err.rejection, passed: at < 0 ? passed : passed.slice(0, at) };
}

async function* prepend(first: Buffer, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  yield* rest;
}
