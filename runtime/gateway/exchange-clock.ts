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
  private readonly timeoutMs: number;
  private readonly idleMs: number;
  private readonly deadline: number;

  constructor(controller: AbortController, timeoutMs: number, idleMs: number) {
    this.controller = controller;
    this.timeoutMs = timeoutMs;
    this.idleMs = idleMs;
    this.deadline = performance.now() + timeoutMs;
    this.timer = setTimeout(ExchangeClock.fire, timeoutMs, this);
  }

  /** The one timer's callback (static: no closure per exchange): the route deadline, or an idle check. */
  private static fire(this: void, clock: ExchangeClock): void {
    if (!clock.isStreaming) return void clock.controller.abort(new RouteTimeout(clock.timeoutMs));
    const quiet = performance.now() - clock.lastProgress;
    if (quiet >= clock.idleMs) clock.controller.abort(new IdleTimeout(clock.idleMs));
    else clock.arm(clock.idleMs - quiet);
  }

  /** The response head is going out: the route deadline stops, the idle watch starts. */
  streaming(): void {
    if (this.isStreaming || this.controller.signal.aborted) return;
    this.isStreaming = true;
    this.lastProgress = performance.now();
    // The route timer fires no later than the first idle check is due (the usual case, with
    // idleTimeoutMs >= the time left): it becomes the idle check, and no second timer is made
    // per exchange. It never fires early for the idle watch: the gap is measured when it fires.
    if (this.deadline - this.lastProgress <= this.idleMs) return;
    clearTimeout(this.timer);
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
    this.timer = setTimeout(ExchangeClock.fire, Math.max(1, Math.ceil(ms)), this);
  }
}
