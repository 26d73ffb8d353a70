/**
 * Reads and writes canonical-ABI values in one guest's linear memory (docs/abi.md).
 *
 * Hot path notes (this runs several times per hook call):
 * - Views are cached. Growing a wasm memory detaches its old ArrayBuffer, so a detached view
 *   (length 0) is the cheap signal to refresh them; `memory.buffer` (a C++ getter) is read only
 *   then. Callers run `sync()` once after any call into the guest, which may have grown it.
 * - Writers return the pointer and leave the length in `len`, so lowering needs no pair arrays.
 * - Short ASCII strings are copied with plain JS loops; Buffer's C++ paths only pay off past a
 *   few dozen bytes.
 * - Every string and list still gets its own cabi_realloc, as the canonical ABI requires: the
 *   guest owns and may free each one separately.
 *
 * Trust (docs/abi.md, "what the host checks"): the guest chooses every pointer and length, so
 * - pointers and lengths are read as unsigned 32-bit (an i32 parameter arrives signed in JS), and
 *   a range past the memory's end traps before anything is allocated;
 * - every byte lifted during one hook call (strings, byte lists, list elements; the result and
 *   import arguments alike) is charged to one budget, reset by `beginCall()`: lists may alias
 *   one range many times over, so bounds checks alone would let a 1 MiB memory become gigabytes
 *   of host strings;
 * - strings must be valid UTF-8 (the canonical ABI traps; silently replacing bytes with U+FFFD
 *   would hand the host a string the guest never wrote).
 */
import { GuestTrap } from './errors.ts';
import type { HeaderList } from './types.ts';

export type Realloc = (oldPtr: number, oldSize: number, align: number, newSize: number) => number;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
/** Below this many bytes, JS loops beat Buffer's native copy and decode. */
const SHORT = 32;
/** Bytes one hook call may lift when the binding names no budget: the default memory ceiling. */
export const DEFAULT_LIFT_BUDGET = 64 * 1024 * 1024;

function decodeUtf8(u8: Uint8Array, ptr: number, len: number): string {
  try {
    return decoder.decode(u8.subarray(ptr, ptr + len));
  } catch {
    throw new GuestTrap(`invalid UTF-8 in a string at ${ptr}+${len}`);
  }
}

export class GuestMemory {
  private readonly memory: WebAssembly.Memory;
  private readonly realloc: Realloc;
  /** A plain Uint8Array, so that slice() copies (Buffer#slice would alias guest memory). */
  private u8: Uint8Array;
  /** The same bytes as a Buffer, for its native latin1 writer. */
  private buf: Buffer;
  private view: DataView;
  /** Current size of memory, in bytes (bounds checks). */
  private size: number;
  /** Length written by the last put* call (bytes for strings and bytes, elements for lists). */
  len = 0;
  /** Bytes one hook call may lift in all. */
  readonly liftBudget: number;
  /** Bytes the current call may still lift. */
  private budget: number;

  constructor(memory: WebAssembly.Memory, realloc: Realloc, liftBudget = DEFAULT_LIFT_BUDGET) {
    this.memory = memory;
    this.realloc = realloc;
    this.liftBudget = liftBudget;
    this.budget = liftBudget;
    const buffer = memory.buffer;
    this.u8 = new Uint8Array(buffer);
    this.buf = Buffer.from(buffer);
    this.view = new DataView(buffer);
    this.size = buffer.byteLength;
  }

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Re-reads the views if the guest grew its memory since the last look. */
  sync(): void {
    if (this.u8.length === this.size && this.size !== 0) return;
    const buffer = this.memory.buffer;
    this.u8 = new Uint8Array(buffer);
    this.buf = Buffer.from(buffer);
    this.view = new DataView(buffer);
    this.size = buffer.byteLength;
  }

  /** A hook call starts: its lifts draw on a full budget again. */
  beginCall(): void {
    this.budget = this.liftBudget;
  }

  /** Bytes the current call may still lift. */
  get budgetLeft(): number {
    return this.budget;
  }

  /** `ptr` and `len` are unsigned (callers convert with `>>> 0`). */
  private check(ptr: number, len: number): void {
    if (ptr + len > this.size) {
      throw new GuestTrap(`guest pointer out of bounds: ${ptr}+${len} > ${this.size}`);
    }
  }

  /** Counts `n` lifted bytes against the call's budget, before the host allocates them. */
  private charge(n: number): void {
    if ((this.budget -= n) < 0) {
      throw new GuestTrap(`the guest handed the host more than ${this.liftBudget} bytes in one call`, { kind: 'memory' });
    }
  }

  // ---- reading (guest -> host); callers sync() after the guest ran ----

  u8At(ptr: number): number {
    ptr >>>= 0;
    this.check(ptr, 1);
    return this.u8[ptr]!;
  }
  u16At(ptr: number): number {
    ptr >>>= 0;
    this.check(ptr, 2);
    return this.view.getUint16(ptr, true);
  }
  u32At(ptr: number): number {
    ptr >>>= 0;
    this.check(ptr, 4);
    return this.view.getUint32(ptr, true);
  }

  string(ptr: number, len: number): string {
    ptr >>>= 0;
    len >>>= 0;
    if (len === 0) return '';
    this.check(ptr, len);
    this.charge(len);
    const u8 = this.u8;
    if (len <= SHORT) {
      let s = '';
      for (let i = ptr, end = ptr + len; i < end; i++) {
        const c = u8[i]!;
        if (c > 0x7f) return decodeUtf8(u8, ptr, len);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return decodeUtf8(u8, ptr, len);
  }
  /** A string whose (ptr, len) pair is stored at `at`. */
  stringAt(at: number): string {
    at >>>= 0;
    this.check(at, 8);
    const v = this.view;
    return this.string(v.getUint32(at, true), v.getUint32(at + 4, true));
  }
  /** A copy: the guest may reuse its memory as soon as the call ends. */
  bytes(ptr: number, len: number): Uint8Array {
    ptr >>>= 0;
    len >>>= 0;
    this.check(ptr, len);
    this.charge(len);
    return this.u8.slice(ptr, ptr + len);
  }
  bytesAt(at: number): Uint8Array {
    at >>>= 0;
    this.check(at, 8);
    return this.bytes(this.view.getUint32(at, true), this.view.getUint32(at + 4, true));
  }
  /**
   * Checks and charges a list of `len` elements of `size` bytes at `ptr` before the host makes
   * an array for it; answers the unsigned pointer.
   */
  list(ptr: number, len: number, size: number): number {
    ptr >>>= 0;
    this.check(ptr, len * size);
    this.charge(len * size);
    return ptr;
  }
  headers(ptr: number, len: number): HeaderList {
    len >>>= 0;
    ptr = this.list(ptr, len, 16);
    const out: HeaderList = new Array(len);
    for (let i = 0; i < len; i++) {
      const p = ptr + i * 16;
      out[i] = [this.stringAt(p), this.stringAt(p + 8)];
    }
    return out;
  }
  headersAt(at: number): HeaderList {
    at >>>= 0;
    this.check(at, 8);
    return this.headers(this.view.getUint32(at, true), this.view.getUint32(at + 4, true));
  }
  stringListAt(at: number): string[] {
    at >>>= 0;
    this.check(at, 8);
    const len = this.view.getUint32(at + 4, true);
    const ptr = this.list(this.view.getUint32(at, true), len, 8);
    const out: string[] = new Array(len);
    for (let i = 0; i < len; i++) out[i] = this.stringAt(ptr + i * 8);
    return out;
  }
  /** option<list<u8>> or option<string> stored at `at` (tag @0, value @4). */
  optionBytesAt(at: number): Uint8Array | undefined {
    const tag = this.u8At(at);
    if (tag === 0) return undefined;
    if (tag !== 1) throw new GuestTrap(`invalid option tag ${tag}`);
    return this.bytesAt(at + 4);
  }
  optionStringAt(at: number): string | undefined {
    const tag = this.u8At(at);
    if (tag === 0) return undefined;
    if (tag !== 1) throw new GuestTrap(`invalid option tag ${tag}`);
    return this.stringAt(at + 4);
  }

  // ---- writing (host -> guest) ----

  alloc(size: number, align: number): number {
    if (size === 0) return align;
    const ptr = this.realloc(0, 0, align, size) >>> 0;
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
    if (n <= SHORT) {
      let i = 0;
      while (i < n && s.charCodeAt(i) < 0x80) i++;
      if (i === n) {
        const ptr = this.alloc(n, 1);
        const u8 = this.u8;
        for (let j = 0; j < n; j++) u8[ptr + j] = s.charCodeAt(j);
        this.len = n;
        return ptr;
      }
    } else {
      let ascii = true;
      for (let i = 0; i < n; i++) {
        if (s.charCodeAt(i) > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        const ptr = this.alloc(n, 1);
        this.buf.write(s, ptr, n, 'latin1');
        this.len = n;
        return ptr;
      }
    }
    const len = Buffer.byteLength(s, 'utf8');
    const ptr = this.alloc(len, 1);
    encoder.encodeInto(s, this.u8.subarray(ptr, ptr + len));
    this.len = len;
    return ptr;
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
  setPair(at: number, ptr: number, len: number): void {
    at >>>= 0;
    this.check(at, 8);
    this.view.setUint32(at, ptr, true);
    this.view.setUint32(at + 4, len, true);
  }
}
