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
import { admitUpstream, clusterOf, isUpstreamPhase } from './upstream-phase.ts';

export type ProcessCall = grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

/** `onEnd` runs once when the stream is done (its generation's in-flight count, see reload.ts). */
export function serveStream(state: ExtProcState, call: ProcessCall, open: Set<() => void>, onEnd?: () => void): void {
  const metadata = call.metadata as grpc.Metadata | undefined;
  const stream = isUpstreamPhase(metadata)
    ? new ExtProcStream(state, (s, msg) => admitUpstream(s, msg.requestHeaders?.headers, clusterOf(msg.attributes, metadata)))
    : new ExtProcStream(state);
  let queue = Promise.resolve();
  let closed = false;
  const cancel = () => stream.cancel();
  open.add(cancel);
  const finish = () => {
    if (closed) return;
    closed = true;
    open.delete(cancel);
    stream.close();
    onEnd?.();
    const ms = performance.now() - stream.startedAt;
    const { phase } = stream;
    const ctx = stream.context;
    // A request is counted (and its span ended) once, by its route phase; an attempt's stream is a line of its own.
    if (phase === 'route') {
      state.metrics.request(stream.route ?? '', stream.status, ms / 1000);
      if (ctx) endRequestSpan(ctx, stream.status);
    }
    state.accessLog.info({
      id: stream.requestId, route: stream.route, status: stream.status, durationMs: +ms.toFixed(3), face: 'extproc',
      ...(phase === 'route' ? {} : { phase: 'upstream', upstream: phase.upstream, backend: phase.backend }),
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
