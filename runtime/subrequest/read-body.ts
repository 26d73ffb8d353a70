/**
 * Reads a response body incrementally up to a ceiling. Past the ceiling the stream is
 * destroyed (undici then drops the connection) and nothing more is read or kept: the
 * bridge never holds more than `maxBytes` of body.
 */
import type { Readable } from 'node:stream';

export type BodyRead =
  | { ok: true; body: Uint8Array; bytes: number }
  | { ok: false; bytes: number };

/** Declared length over the ceiling: fail before reading a byte. */
export function declaredTooLarge(contentLength: string | string[] | undefined, maxBytes: number): boolean {
  if (typeof contentLength !== 'string' || !/^\d+$/.test(contentLength)) return false;
  return Number(contentLength) > maxBytes;
}

/**
 * Event-driven rather than `for await`: the async iterator costs a promise per chunk, which
 * shows up in the bridge's added latency. Rejects with the stream's error (abort included).
 */
export function readBounded(stream: Readable, maxBytes: number): Promise<BodyRead> {
  return new Promise<BodyRead>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const finish = (result: BodyRead | Error): void => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += buf.byteLength;
      if (bytes > maxBytes) {
        stream.on('error', () => {}); // the destroy below may surface an abort error later
        stream.destroy();
        finish({ ok: false, bytes });
        return;
      }
      chunks.push(buf);
    };
    const onEnd = (): void => {
      const body = chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, bytes);
      finish({ ok: true, body, bytes });
    };
    const onError = (err: Error): void => finish(err);
    const onClose = (): void => finish(new Error('response body closed before its end'));
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/** Drops a body we do not want (redirect, refused): the stream is destroyed, not drained. */
export function discardBody(stream: Readable): void {
  stream.on('error', () => {});
  stream.destroy();
}
