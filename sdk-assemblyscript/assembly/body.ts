// Body helpers: bytes <-> text, and whole-body accumulation across hook calls.
import { RequestInfo } from "./types";
import { context } from "./host";

export function bytesToString(b: Uint8Array): string {
  return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
}

export function stringToBytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s, false, String.UTF8.ErrorMode.REPLACE));
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * Collects a body that arrives in several hook calls and returns all of it on end of stream
 * (null before). Instances are pooled, not pinned to a request, so earlier chunks wait in the
 * request's `context` (one key per direction and attempt: a retry re-sends the body). A body
 * that arrives in one call never touches the context. `direction` is "request" or "response".
 */
export function bufferBody(info: RequestInfo, direction: string, chunk: Uint8Array, endOfStream: bool): Uint8Array | null {
  const key = "praxis.body." + direction + "." + info.attempt.toString();
  const held = context.get(key);
  const all = held === null || held.length == 0 ? chunk : concatBytes(held, chunk);
  if (endOfStream) {
    if (held !== null && held.length > 0) context.set(key, new Uint8Array(0));
    return all;
  }
  if (chunk.length > 0) context.set(key, all);
  return null;
}

/** Bytes held so far by bufferBody for this direction and attempt (0 when none). */
export function bufferedLength(info: RequestInfo, direction: string): i32 {
  const held = context.get("praxis.body." + direction + "." + info.attempt.toString());
  return held === null ? 0 : held.length;
}
