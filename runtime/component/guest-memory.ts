/**
 * Lowering: writes canonical-ABI values into one guest's linear memory (docs/abi.md); lifting,
 * checked and counted, is GuestView's.
 *
 * Hot path notes (this runs several times per hook call):
 * - Writers return the pointer and leave the length in `len`, so lowering needs no pair arrays.
 * - Strings are written by Buffer's native UTF-8 writer, never read with charCodeAt (see putString).
 * - Every string and list still gets its own cabi_realloc, as the canonical ABI requires: the
 *   guest owns and may free each one separately.
 */
import { GuestTrap } from './errors.ts';
import { DEFAULT_LIFT_BUDGET, GuestView, SHORT } from './guest-view.ts';
import type { HeaderList } from './types.ts';

export { DEFAULT_LIFT_BUDGET } from './guest-view.ts';

export type Realloc = (oldPtr: number, oldSize: number, align: number, newSize: number) => number;

const encoder = new TextEncoder();

/**
 * Node's native UTF-8 writer, the one `buf.write(s, at, max, 'utf8')` calls after parsing its
 * arguments (untyped in @types/node). Returns the bytes written; never splits a character.
 */
interface NativeUtf8Writer {
  utf8Write(s: string, offset: number, max: number): number;
}

export class GuestMemory extends GuestView {
  private readonly realloc: Realloc;
  /** Length written by the last put* call (bytes for strings and bytes, elements for lists). */
  len = 0;

  constructor(memory: WebAssembly.Memory, realloc: Realloc, liftBudget = DEFAULT_LIFT_BUDGET) {
    super(memory, liftBudget);
    this.realloc = realloc;
  }

  /** A fresh block, or (oldPtr, oldSize) regrown; its pointer, checked. */
  alloc(size: number, align: number, oldPtr = 0, oldSize = 0): number {
    if (size === 0) return align;
    const ptr = this.realloc(oldPtr, oldSize, align, size) >>> 0;
    if (this.u8.length !== this.size || this.size === 0) this.sync();
    if (ptr === 0 || (ptr & (align - 1)) !== 0 || ptr + size > this.size) {
      throw new GuestTrap(`cabi_realloc returned an unusable pointer ${ptr} for ${size} bytes`);
    }
    return ptr;
  }

  /** Copies a string into fresh guest memory; returns its pointer, byte length in `len`. */
  putString(s: string): number {
    const n = s.length;
    if (n === 0) {
      this.len = 0;
      return 1;
    }
    // No charCodeAt: once any String subclass exists in the process (the Redis client defines
    // one), V8 runs it on a slow path everywhere, and a hook call went 1.7 -> 5 us. Buffer's
    // native writer and a scan of the bytes it wrote cost the same either way
    // (docs/performance.md). n ASCII units are n bytes under 0x80; any other unit writes a byte
    // of 0x80 or more, or more bytes than units.
    const ptr = this.alloc(n, 1);
    const written = (this.buf as unknown as NativeUtf8Writer).utf8Write(s, ptr, n);
    if (written === n) {
      const u8 = this.u8;
      let hi = 0;
      for (let i = ptr, end = ptr + n; i < end; i++) hi |= u8[i]!;
      if (hi < 0x80) {
        this.len = n;
        return ptr;
      }
    }
    // As canonical-ABI lowering does: the same block regrown to the exact UTF-8 length.
    const len = Buffer.byteLength(s, 'utf8');
    const at = this.alloc(len, 1, ptr, n);
    encoder.encodeInto(s, this.u8.subarray(at, at + len));
    this.len = len;
    return at;
  }

  /** Copies bytes into fresh guest memory; returns the pointer, length in `len`. */
  putBytes(b: Uint8Array): number {
    const n = b.length;
    this.len = n;
    if (n === 0) return 1;
    const ptr = this.alloc(n, 1);
    if (n <= SHORT) {
      const u8 = this.u8;
      for (let i = 0; i < n; i++) u8[ptr + i] = b[i]!;
    } else {
      this.u8.set(b, ptr);
    }
    this.len = n;
    return ptr;
  }

  /** Lowers a header list: one 16-byte element array plus one allocation per name and value. */
  putHeaders(list: HeaderList): number {
    const n = list.length;
    if (n === 0) {
      this.len = 0;
      return 4;
    }
    const ptr = this.alloc(n * 16, 4);
    for (let i = 0; i < n; i++) {
      const h = list[i]!;
      const np = this.putString(h[0]);
      const nl = this.len;
      const vp = this.putString(h[1]);
      const vl = this.len;
      const v = this.view; // after the allocations: they may have grown memory
      const p = ptr + i * 16;
      v.setUint32(p, np, true);
      v.setUint32(p + 4, nl, true);
      v.setUint32(p + 8, vp, true);
      v.setUint32(p + 12, vl, true);
    }
    this.len = n;
    return ptr;
  }

  setU8(at: number, v: number): void {
    at >>>= 0;
    this.check(at, 1);
    this.u8[at] = v;
  }
  setU16(at: number, v: number): void {
    at >>>= 0;
    this.check(at, 2);
    this.view.setUint16(at, v, true);
  }
  setU32(at: number, v: number): void {
    at >>>= 0;
    this.check(at, 4);
    this.view.setUint32(at, v, true);
  }
  setI64(at: number, v: bigint): void {
    at >>>= 0;
    this.check(at, 8);
    this.view.setBigInt64(at, v, true);
  }
  setPair(at: number, ptr: number, len: number): void {
    at >>>= 0;
    this.check(at, 8);
    this.view.setUint32(at, ptr, true);
    this.view.setUint32(at + 4, len, true);
  }
}
