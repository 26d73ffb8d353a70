/**
 * Writing WebAssembly binaries: byte pieces collected without spreading (modules can be
 * megabytes), sections with their sizes, signed LEB128, and a vector section with entries added.
 */
import { Reader, type Section, uleb } from './wasm-binary.ts';

export class Sink {
  private readonly pieces: Uint8Array[] = [];
  length = 0;
  push(...parts: Array<Uint8Array | number[]>): void {
    for (const p of parts) {
      const u = p instanceof Uint8Array ? p : Uint8Array.from(p);
      this.pieces.push(u);
      this.length += u.length;
    }
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.pieces) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** A section: its id, its size, then the parts of its payload. */
export function section(id: number, ...payload: Array<Sink | Uint8Array | number[]>): Uint8Array {
  const body = new Sink();
  for (const p of payload) body.push(p instanceof Sink ? p.bytes() : p);
  const s = new Sink();
  s.push([id, ...uleb(body.length)], body.bytes());
  return s.bytes();
}

/** Signed LEB128 of a non-negative i32 (for `i32.const`). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if (n === 0 && !(b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

/** A vector section of `bytes` with one entry, `extra`, added at its end. */
export function appended(bytes: Uint8Array, s: Section, extra: Uint8Array | number[]): Uint8Array {
  const r = new Reader(bytes, s.payloadStart, s.end);
  const n = r.u32();
  return section(s.id, uleb(n + 1), bytes.subarray(r.pos, s.end), extra);
}
