/**
 * Structural edits of WebAssembly binaries for the fuzzer: split a module or component into its
 * top-level sections, put them back together (optionally lying in one size field), and reach
 * the LEB128 fields that tools trust: section sizes, vector counts, function-body sizes,
 * local-declaration counts. Enclosing sizes are kept honest unless the edit is that size itself,
 * so one lie reaches the code that reads it instead of failing at the first section check.
 */
import { Reader, sections, uleb } from '../../runtime/component/wasm-binary.ts';

export interface RawSection {
  id: number;
  payload: Uint8Array;
  /** When set, the section is written with this size instead of its payload's length. */
  claimedSize?: number;
}

/** The 8-byte preamble (magic + version/layer) and the top-level sections. */
export function split(bytes: Uint8Array): { preamble: Uint8Array; sections: RawSection[] } {
  return {
    preamble: bytes.subarray(0, 8),
    sections: sections(bytes).map((s) => ({ id: s.id, payload: bytes.subarray(s.payloadStart, s.end) })),
  };
}

/** A 5-byte (padded) unsigned LEB128, the widest form a u32 may take. */
export function uleb5(n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 5; i++) {
    const b = (n >>> (7 * i)) & 0x7f;
    out.push(i < 4 ? b | 0x80 : b);
  }
  return out;
}

export function join(preamble: Uint8Array, parts: RawSection[]): Uint8Array {
  const chunks: Uint8Array[] = [preamble];
  for (const s of parts) {
    const size = s.claimedSize === undefined ? uleb(s.payload.length) : uleb5(s.claimedSize);
    chunks.push(Uint8Array.from([s.id, ...size]), s.payload);
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Replaces the LEB128 u32 at `offset` of `payload` with the 5-byte encoding of `value`. */
export function replaceLeb(payload: Uint8Array, offset: number, value: number): Uint8Array {
  const r = new Reader(payload, offset);
  r.u32();
  const head = payload.subarray(0, offset);
  const tail = payload.subarray(r.pos);
  const out = new Uint8Array(head.length + 5 + tail.length);
  out.set(head, 0);
  out.set(uleb5(value), head.length);
  out.set(tail, head.length + 5);
  return out;
}

export interface CodeBody {
  /** Offset of the body's size field in the code section's payload. */
  sizeAt: number;
  /** Offset of the body (its local declarations) in the payload. */
  bodyAt: number;
  end: number;
}

/** The function bodies of a core module's code section payload (section id 10). */
export function codeBodies(payload: Uint8Array): CodeBody[] {
  const r = new Reader(payload);
  const out: CodeBody[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const sizeAt = r.pos;
    const size = r.u32();
    const bodyAt = r.pos;
    r.skip(size);
    out.push({ sizeAt, bodyAt, end: bodyAt + size });
  }
  return out;
}

/**
 * Sets the first local-declaration count of one body to `value`, rewriting that body's size so
 * the count is the only lie. Returns undefined when the body declares no locals.
 */
export function withLocalsCount(payload: Uint8Array, body: CodeBody, value: number): Uint8Array | undefined {
  const r = new Reader(payload, body.bodyAt, body.end);
  if (r.u32() === 0) return undefined;
  const countAt = r.pos;
  const rewritten = replaceLeb(payload.subarray(body.bodyAt, body.end), countAt - body.bodyAt, value);
  const head = payload.subarray(0, body.sizeAt);
  const size = uleb(rewritten.length);
  const tail = payload.subarray(body.end);
  const out = new Uint8Array(head.length + size.length + rewritten.length + tail.length);
  out.set(head, 0);
  out.set(size, head.length);
  out.set(rewritten, head.length + size.length);
  out.set(tail, head.length + size.length + rewritten.length);
  return out;
}

/** Core sections whose payload starts with a vector count (type, import, function, ... data). */
export const CORE_VECTOR_SECTIONS = new Set([1, 2, 3, 4, 5, 6, 7, 9, 10, 11]);
