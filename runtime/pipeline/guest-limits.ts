/**
 * What one plugin's guest may make the host keep or write on its behalf: the request context
 * store and the log (`plugins.<name>.limits`, docs/config.md). The binding bounds what a call may
 * lift (the memory ceiling); these bound what the host then holds on to or emits.
 */
import type { Logger } from 'pino';
import type { LogLevel } from '../component/types.ts';
import { LogRate, clipLine } from './guest-log.ts';

export interface GuestLimits {
  /** Bytes of keys and values one plugin may keep in one request's context store. */
  maxContextBytes: number;
  /** Keys one plugin may keep in one request's context store. */
  maxContextKeys: number;
  /** A log line longer than this (UTF-8 bytes) is cut there and marked. */
  maxLogLineBytes: number;
  /** Log lines one hook call may write; the rest of the call's lines are dropped. */
  maxLogLinesPerCall: number;
  /** Sustained log lines per second across all of the plugin's instances... */
  logLinesPerSecond: number;
  /** ...and the burst allowed above that rate. */
  logBurst: number;
}

export const DEFAULT_GUEST_LIMITS: Readonly<GuestLimits> = {
  maxContextBytes: 1024 * 1024,
  maxContextKeys: 256,
  maxLogLineBytes: 4096,
  maxLogLinesPerCall: 100,
  logLinesPerSecond: 1000,
  logBurst: 2000,
};

/** Longest context key (UTF-8 bytes); its bytes also count toward `maxContextBytes`. */
export const MAX_CONTEXT_KEY_BYTES = 4096;

/** A plugin's limits and the state that spans its requests (the log rate is per plugin). */
export interface GuestPolicy {
  readonly limits: Readonly<GuestLimits>;
  readonly logRate: LogRate;
}

export function guestPolicy(overrides: Partial<GuestLimits> = {}): GuestPolicy {
  const limits = { ...DEFAULT_GUEST_LIMITS, ...overrides };
  return { limits, logRate: new LogRate(limits.logLinesPerSecond, limits.logBurst) };
}

/**
 * The `log` import while configure runs (outside any request, so no per-call count): the same
 * rate and line length as in hooks, so a guest that logs from configure cannot flood the log
 * each time the pool makes an instance.
 */
export function configureLog(logger: Logger, guest: GuestPolicy): (level: LogLevel, msg: string) => void {
  return (level, msg) => {
    if (!guest.logRate.take()) {
      if (guest.logRate.dropped()) logger.warn({ phase: 'configure' }, 'guest log lines dropped: over the plugin\'s rate');
      return;
    }
    logger[level]({ guest: true, phase: 'configure' }, clipLine(msg, guest.limits.maxLogLineBytes));
  };
}
