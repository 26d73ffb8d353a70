/**
 * The processing mode a chain asks Envoy for (`mode_override` on the request-headers answer),
 * from what its filters declared: Envoy sends only what some filter will look at.
 *  - no filter wants a body: NONE (Envoy never sends it);
 *  - every body filter buffers within Envoy's buffer: BUFFERED (one message with the whole body);
 *  - a filter streams, or buffers beyond Envoy's buffer: STREAMED, and the host holds what a
 *    buffering filter holds (each chunk's answer replaces it with what the chain lets through).
 * Envoy honours the override only with `allow_mode_override: true` in its ext_proc filter; without
 * it the service answers whatever Envoy sends, in any mode, with the same results.
 */
import type { BodyMode } from '../component/types.ts';
import type { ChainFilter } from '../pipeline/filter.ts';
import type { BodySendMode, ProcessingMode } from './messages.ts';

export function bodySendMode(modes: readonly BodyMode[], envoyBufferBytes: number): BodySendMode {
  let buffered = false;
  for (const m of modes) {
    if (m.tag === 'stream') return 'STREAMED';
    if (m.tag === 'stream-buffer') {
      if (m.maxBytes > envoyBufferBytes) return 'STREAMED';
      buffered = true;
    }
  }
  return buffered ? 'BUFFERED' : 'NONE';
}

/**
 * The mode for the rest of a stream, once the request-headers hooks ran: `passed` are the filters
 * whose request went through (the others' later hooks never run); `bodyDone` when the request body
 * needs no more messages (none comes, or a filter replaced it).
 */
export function processingMode(passed: readonly ChainFilter[], bodyDone: boolean, envoyBufferBytes: number): ProcessingMode {
  const requestBodyMode = bodyDone ? 'NONE' : bodySendMode(passed.map((f) => f.info.requestBody), envoyBufferBytes);
  const responseBodyMode = bodySendMode(passed.map((f) => f.info.responseBody), envoyBufferBytes);
  const responseHooks = passed.some((f) => f.info.headerHooks.responseHeaders);
  // A STREAMED body the host holds ends, when trailers follow, with no end_of_stream: Envoy must
  // say so with the trailers, or what is held would never be let go.
  const held = (mode: BodySendMode, modes: BodyMode[]) => mode === 'STREAMED' && modes.some((m) => m.tag === 'stream-buffer') ? 'SEND' : 'SKIP';
  return {
    requestHeaderMode: 'SEND',
    // Response headers are sent when a hook reads them or a response body is wanted (a body
    // filter's answer to an empty body can only travel on the headers' answer).
    responseHeaderMode: responseHooks || responseBodyMode !== 'NONE' ? 'SEND' : 'SKIP',
    requestBodyMode,
    responseBodyMode,
    requestTrailerMode: held(requestBodyMode, passed.map((f) => f.info.requestBody)),
    responseTrailerMode: held(responseBodyMode, passed.map((f) => f.info.responseBody)),
  };
}
