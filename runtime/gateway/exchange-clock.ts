/**
 * The two clocks of one exchange. Until the response head goes out, the route's `timeoutMs`
 * bounds it (504). From then on only gaps count: `idleTimeoutMs` without a body chunk from the
 * upstream or write progress to the client ends it, so a stream lives as long as it flows and a
 * stalled one (upstream silent, or a client that stopped reading) is cut and its connection freed.
 */
import { SweptDeadline, list, unlist } from './deadline-sweep.ts';

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

export class ExchangeClock extends SweptDeadline {
  private isStreaming = false;
  private lastProgress = 0;
  private readonly controller: AbortController;
  private readonly timeoutMs: number;
  private readonly idleMs: number;

  constructor(controller: AbortController, timeoutMs: number, idleMs: number) {
    super();
    this.controller = controller;
    this.timeoutMs = timeoutMs;
    this.idleMs = idleMs;
    this.due = performance.now() + timeoutMs;
    // No timer of its own: one sweep serves every exchange's clock (deadline-sweep.ts).
    list(this);
  }

  /** The route deadline, or an idle check. */
  onDue(now: number): void {
    if (!this.isStreaming) {
      unlist(this);
      this.controller.abort(new RouteTimeout(this.timeoutMs));
      return;
    }
    const quiet = now - this.lastProgress;
    if (quiet >= this.idleMs) {
      unlist(this);
      this.controller.abort(new IdleTimeout(this.idleMs));
    } else {
      this.due = this.lastProgress + this.idleMs;
    }
  }

  /** The response head is going out: the route deadline stops, the idle watch starts. */
  streaming(): void {
    if (this.isStreaming || this.controller.signal.aborted) return;
    this.isStreaming = true;
    this.lastProgress = performance.now();
    this.due = this.lastProgress + this.idleMs;
  }

  /** The body moved (a chunk came, or the client drained): the idle gap starts over. */
  touch(): void {
    // A timestamp, checked when the idle check is due: chunks are many, moving a deadline per chunk is not free.
    this.lastProgress = performance.now();
  }

  stop(): void {
    unlist(this);
  }
}
