/**
 * The two clocks of one exchange. Until the response head goes out, the route's `timeoutMs`
 * bounds it (504). From then on only gaps count: `idleTimeoutMs` without a body chunk from the
 * upstream or write progress to the client ends it, so a stream lives as long as it flows and a
 * stalled one (upstream silent, or a client that stopped reading) is cut and its connection freed.
 */

/** The route's time to the response head ran out. */
export class RouteTimeout extends Error {
  readonly ms: number;
  constructor(ms: number) {
    super(`the route timeout (${ms} ms) elapsed`);
    this.ms = ms;
  }
}

/** The response body made no progress (no upstream chunk, no client drain) for the idle timeout. */
export class IdleTimeout extends Error {
  readonly ms: number;
  constructor(ms: number) {
    super(`the response body stalled for ${ms} ms`);
    this.ms = ms;
  }
}

export class ExchangeClock {
  private timer: NodeJS.Timeout | undefined;
  private isStreaming = false;
  private lastProgress = 0;
  private readonly controller: AbortController;
  private readonly idleMs: number;

  constructor(controller: AbortController, timeoutMs: number, idleMs: number) {
    this.controller = controller;
    this.idleMs = idleMs;
    this.timer = setTimeout(() => this.controller.abort(new RouteTimeout(timeoutMs)), timeoutMs);
  }

  /** The response head is going out: the route deadline stops, the idle watch starts. */
  streaming(): void {
    if (this.isStreaming || this.controller.signal.aborted) return;
    clearTimeout(this.timer);
    this.isStreaming = true;
    this.lastProgress = performance.now();
    this.arm(this.idleMs);
  }

  /** The body moved (a chunk came, or the client drained): the idle gap starts over. */
  touch(): void {
    // A timestamp rather than timer.refresh() per chunk: chunks are many, re-arming is not free.
    this.lastProgress = performance.now();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      const quiet = performance.now() - this.lastProgress;
      if (quiet >= this.idleMs) this.controller.abort(new IdleTimeout(this.idleMs));
      else this.arm(this.idleMs - quiet);
    }, Math.max(1, Math.ceil(ms)));
  }
}
