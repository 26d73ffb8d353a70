/** pino loggers: one for the runtime, one child for access-log lines. */
import { pino, type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  level?: string;
  /** Where lines go (default stdout); tests pass a stream to read them. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino({ level: opts.level ?? 'info', base: { service: 'praxis-wasm', pid: process.pid } }, opts.destination ?? pino.destination({ sync: false }));
}
