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

export async function readBounded(stream: Readable, maxBytes: number): Promise<BodyRead> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (bytes + buf.byteLength > maxBytes) {
      bytes += buf.byteLength;
      stream.destroy();
      return { ok: false, bytes };
    }
    bytes += buf.byteLength;
    chunks.push(buf);
  }
  if (chunks.length === 1 && chunks[0] !== undefined) return { ok: true, body: chunks[0], bytes };
  return { ok: true, body: Buffer.concat(chunks, bytes), bytes };
}

/** Drops a body we do not want (redirect, refused): a little is drained, the rest aborts. */
export function discardBody(stream: Readable): void {
  stream.on('error', () => {});
  stream.destroy();
}
