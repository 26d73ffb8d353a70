/**
 * Graceful shutdown with an end: stop accepting, let in-flight exchanges finish within the grace
 * period, then cut every client connection, abort every upstream request and stop waiting for
 * whatever still holds on. A paused upstream body or a hook that will not return must not keep
 * the process alive past grace + about a second.
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';

/** How long the forced phase may take after the grace period, per step. */
const FORCE_STEP_MS = 400;

export interface Shutdown {
  server: Server;
  graceMs: number;
  logger: Logger;
  /** Exchanges still running. */
  inFlight(): number;
  /** Resolves when the last running exchange ends. */
  drained(): Promise<void>;
  /** Closes pools, agents and listeners, waiting for what they have in flight. */
  release(): Promise<void>;
  /** Aborts what is in flight upstream and closes those connections now. */
  abortUpstreams(): Promise<void>;
}

/** Resolves true when `p` settles within `ms`, false when it does not (its outcome is then ignored). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => { timer = setTimeout(() => r(false), Math.max(0, ms)); });
  try {
    return await Promise.race([p.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function shutdown(s: Shutdown): Promise<void> {
  const deadline = performance.now() + s.graceMs;
  const closed = new Promise<void>((r) => s.server.close(() => r()));
  s.server.closeIdleConnections();
  const drained = s.inFlight() === 0 || (await within(s.drained(), s.graceMs));
  // Keep-alive connections that went idle during the grace period, or every one past it.
  s.server.closeAllConnections();
  if (!drained) {
    s.logger.warn({ inFlight: s.inFlight(), graceMs: s.graceMs }, 'shutdown: grace period over, closing the rest');
    await within(s.abortUpstreams(), FORCE_STEP_MS);
  }
  const left = Math.max(0, deadline - performance.now());
  if (!(await within(Promise.all([closed, s.release()]), left + FORCE_STEP_MS))) {
    s.logger.warn('shutdown: pools or connections still busy; aborting them');
    await within(s.abortUpstreams(), FORCE_STEP_MS);
  }
}
