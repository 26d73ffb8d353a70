/**
 * The way back: response-headers hooks (reverse chain order), then the body, streamed to the
 * client chunk by chunk unless some filter asked to hold it. The head is written lazily, at the
 * first forwardable chunk, so a filter holding the body can still reject or change it.
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { ResponseHead } from '../component/types.ts';
import { BodyRejected, BodyTooLarge, flowThrough } from '../pipeline/body-flow.ts';
import type { ChainFilter } from '../pipeline/filter.ts';
import { applyHeaderMutations, getHeader } from '../pipeline/headers.ts';
import type { Pipeline, ResponseHeadersOutcome } from '../pipeline/pipeline.ts';
import { RequestCancelled } from '../pipeline/invoke.ts';
import type { RequestContext } from '../pipeline/request-context.ts';
import type { ExchangeClock } from './exchange-clock.ts';
import { discard, sendError, writeHead } from './responses.ts';
import type { ExchangeRecord } from './state.ts';

/**
 * Writes one chunk; when the client is behind, waits for it to catch up. A client that leaves
 * (or stops reading until the idle timeout aborts the exchange) never drains: 'close', 'error'
 * or the abort ends the wait, rejecting, so the caller releases the upstream body rather than
 * holding it (and its connection) forever.
 */
function write(res: ServerResponse, chunk: Buffer, clock: ExchangeClock, signal: AbortSignal): Promise<void> | undefined {
  if (res.destroyed) return Promise.reject(new RequestCancelled());
  if (res.write(chunk)) return undefined;
  return new Promise<void>((resolve, reject) => {
    const settle = (err?: unknown) => {
      res.off('drain', onDrain).off('close', onClose).off('error', settle);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => {
      clock.touch();
      settle();
    };
    const onClose = () => settle(new RequestCancelled());
    const onAbort = () => settle(signal.reason);
    if (signal.aborted) return onAbort();
    res.on('drain', onDrain).on('close', onClose).on('error', settle);
    signal.addEventListener('abort', onAbort);
  });
}

/**
 * Pumps an upstream body to the client, counting bytes, pausing the source while the client is
 * behind. Neither stream.pipeline (an AbortController per call) nor pipe() (about ten listeners
 * and closures per call, ~1.5 KB per request): the four listeners here are all this needs.
 */
function pipeCounted(source: Readable, res: ServerResponse, ex: ExchangeRecord, clock: ExchangeClock): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // The client left before the body started: its 'close' has already gone by.
    if (res.destroyed) {
      discard(source);
      return resolve();
    }
    // Progress either way keeps the idle clock quiet: a chunk from upstream, or the client draining.
    source.on('data', (chunk: Buffer) => {
      ex.bytesOut += chunk.length;
      clock.touch();
      if (!res.write(chunk)) source.pause();
    });
    res.on('drain', () => {
      clock.touch();
      source.resume();
    });
    source.once('end', () => res.end());
    source.once('error', (err) => {
      res.destroy(err);
      reject(err);
    });
    res.once('close', () => {
      if (!res.writableFinished) source.destroy();
      resolve();
    });
  });
}

export async function sendResponse(
  ctx: RequestContext, pipeline: Pipeline, passed: readonly ChainFilter[],
  upstreamHead: ResponseHead, body: Buffer | Readable, res: ServerResponse, ex: ExchangeRecord, clock: ExchangeClock,
): Promise<void> {
  // No filter passed (a filterless route): no hook to await, no promise or tick for it.
  const out: ResponseHeadersOutcome = passed.length === 0 ? { head: upstreamHead } : await pipeline.responseHeaders(ctx, passed, upstreamHead);
  let head = out.head;
  let source: Buffer | Readable = body;
  if (out.rejection) {
    if (!Buffer.isBuffer(body)) discard(body);
    const r = out.rejection.rejection;
    head = { status: r.status, headers: r.headers };
    source = Buffer.from(r.body ?? []);
  } else if (out.body) {
    if (!Buffer.isBuffer(body)) discard(body);
    source = Buffer.from(out.body);
  }
  ex.status = head.status;
  clock.streaming();
  const chain = out.rejection ? undefined : pipeline.bodyChain(ctx, passed, 'response');

  if (!chain?.wanted) {
    if (Buffer.isBuffer(source)) {
      writeHead(res, head.status, head.headers, source.length);
      res.end(source);
      ex.bytesOut = source.length;
      return;
    }
    // The upstream's own length (undici holds the body to it), never one a filter set: a filter's
    // shorter or longer content-length over the unchanged body would desync the client's connection.
    const length = getHeader(upstreamHead.headers, 'content-length');
    writeHead(res, head.status, head.headers, length === undefined ? undefined : Number(length));
    // A stream of unknown length (SSE, say) gets its head at once; a sized body sends the head
    // with its first bytes, in one write.
    if (length === undefined) res.flushHeaders();
    await pipeCounted(source, res, ex, clock);
    return;
  }

  const length = Buffer.isBuffer(source) ? source.length : Number(getHeader(head.headers, 'content-length') ?? NaN);
  const input = Buffer.isBuffer(source) ? source : touching(source, clock);
  const flow = flowThrough(chain, input, Number.isNaN(length) ? undefined : length, (ms) => {
    if (res.headersSent) return;
    for (const m of ms) head = { ...head, headers: applyHeaderMutations(head.headers, m) };
  });
  try {
    for await (const chunk of flow) {
      if (!res.headersSent) {
        writeHead(res, head.status, head.headers);
        res.flushHeaders();
      }
      ex.bytesOut += chunk.length;
      await write(res, chunk, clock, ctx.controller.signal);
    }
  } catch (err) {
    if (!Buffer.isBuffer(source)) discard(source);
    if (err instanceof BodyRejected && !res.headersSent) {
      const r = err.rejection;
      const b = Buffer.from(r.body ?? []);
      writeHead(res, r.status, r.headers, b.length);
      res.end(b);
      ex.status = r.status;
      ex.bytesOut = b.length;
      return;
    }
    if (err instanceof BodyTooLarge && !res.headersSent) {
      ex.status = 502;
      ex.bytesOut = sendError(res, 502, 'response_too_large', ctx.id, { plugin: err.plugin, limit: err.limit });
      return;
    }
    throw err;
  }
  if (!res.headersSent) writeHead(res, head.status, head.headers, 0);
  res.end();
}

/** The upstream body, each chunk counted as progress (a filter holding the body yields nothing for a while). */
async function* touching(source: Readable, clock: ExchangeClock): AsyncGenerator<Buffer> {
  for await (const chunk of source as AsyncIterable<Buffer>) {
    clock.touch();
    yield chunk;
  }
}
