/**
 * One `Process` call on the wire: messages are answered one at a time, in order (Envoy waits for
 * each answer); Envoy's half-close ends the call once the answers are out; a reset (client gone,
 * Envoy's message timeout) cancels the request, and with it every sub-request in flight.
 */
import * as grpc from '@grpc/grpc-js';
import type { ProcessingRequest, ProcessingResponse } from './messages.ts';
import { endRequestSpan } from '../observability/tracing.ts';
import type { ExtProcState } from './state.ts';
import { ExtProcStream } from './stream.ts';

export type ProcessCall = grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

/** `onEnd` runs once when the stream is done (its generation's in-flight count, see reload.ts). */
export function serveStream(state: ExtProcState, call: ProcessCall, open: Set<() => void>, onEnd?: () => void): void {
  const stream = new ExtProcStream(state);
  let queue = Promise.resolve();
  let closed = false;
  const cancel = () => stream.cancel();
  open.add(cancel);
  const finish = () => {
    if (closed) return;
    closed = true;
    open.delete(cancel);
    onEnd?.();
    const ms = performance.now() - stream.startedAt;
    state.metrics.request(stream.route ?? '', stream.status, ms / 1000);
    const ctx = stream.context;
    if (ctx) endRequestSpan(ctx, stream.status);
    state.accessLog.info({
      id: stream.requestId, route: stream.route, status: stream.status, durationMs: +ms.toFixed(3), face: 'extproc',
      ...(ctx ? { attempt: ctx.attempt, filters: ctx.filterMs, subrequests: ctx.subrequests } : {}),
    }, 'access');
  };
  const fail = (err: unknown) => {
    state.logger.error({ err }, 'ext_proc stream failed');
    stream.finished = true;
    // An error status (not an answer): Envoy's failure_mode_allow decides what the request gets.
    call.emit('error', { code: grpc.status.INTERNAL, details: 'ext_proc processing failed' });
    finish();
  };
  call.on('data', (msg: ProcessingRequest) => {
    queue = queue.then(async () => {
      if (stream.finished) return;
      const response = await stream.handle(msg);
      if (response && !call.cancelled) call.write(response);
      if (stream.finished) {
        call.end();
        finish();
      }
    }).catch(fail);
  });
  call.on('end', () => {
    void queue.then(() => {
      if (closed) return;
      call.end();
      finish();
    });
  });
  // grpc-js reports 'cancelled' for every stream that closes, answered or not: only one still
  // open was really cut short.
  call.on('cancelled', () => {
    if (closed) return;
    stream.cancel();
    if (stream.status === 0) stream.status = 499;
    void queue.then(finish);
  });
  call.on('error', () => { if (!closed) stream.cancel(); });
}
