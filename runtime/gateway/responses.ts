/** Answers the gateway itself gives (errors, rejections), always JSON or the filter's own body. */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { HeaderList } from '../component/types.ts';

export function sendJsonError(res: ServerResponse, status: number, type: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): number {
  if (res.headersSent) {
    res.destroy();
    return 0;
  }
  const body = Buffer.from(JSON.stringify({ error: { type, message, ...extra } }));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...headers });
  res.end(body);
  return body.length;
}

/** Writes a head from a header list, dropping framing headers the host sets itself. */
export function writeHead(res: ServerResponse, status: number, headers: HeaderList, contentLength?: number): void {
  const flat: string[] = [];
  for (const [k, v] of headers) {
    if (k === 'content-length' || k === 'transfer-encoding' || k === 'connection' || k === 'keep-alive') continue;
    flat.push(k, v);
  }
  if (contentLength !== undefined) flat.push('content-length', String(contentLength));
  res.writeHead(status, flat);
}

/**
 * Drops an upstream body nobody will read. undici's body stream errors with "Request aborted"
 * when destroyed unread; without a listener that error would crash the process.
 */
export function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}
