/**
 * Lifting: reads canonical-ABI values out of one guest's linear memory (docs/abi.md), checked
 * and counted, since the guest chooses every pointer and length (docs/abi.md, "What the host
 * checks"):
 * - pointers and lengths are read as unsigned 32-bit (an i32 parameter arrives signed in JS), and
 *   a range past the memory's end traps before anything is allocated;
 * - every byte lifted during one hook call (strings, byte lists, list elements; the result and
 *   import arguments alike) is charged to one budget, reset by `beginCall()`: lists may alias
 *   one range many times over, so bounds checks alone would let a 1 MiB memory become gigabytes
 *   of host strings;
 * - strings must be valid UTF-8 (the canonical ABI traps; silently replacing bytes with U+FFFD
 *   would hand the host a string the guest never wrote).
 *
 * Views are cached. Growing a wasm memory detaches its old ArrayBuffer, so a detached view
 * (length 0) is the cheap signal to refresh them; `memory.buffer` (a C++ getter) is read only
 * then. Callers run `sync()` once after any call into the guest, which may have grown it.
 */
import { GuestTrap } from './errors.ts';
import type { HeaderList } from './types.ts';

const decoder = new TextDecoder('utf-8', { fatal: true });
/** Below this many bytes, a JS loop beats TextDecoder's native decode. */
export const SHORT = 32;
/** Bytes one hook call may lift when the binding names no budget: the default memory ceiling. */
export const DEFAULT_LIFT_BUDGET = 64 * 1024 * 1024;
/**
 * The most entries a header list (or a list of header names) from the guest may have: more than
 * any HTTP peer takes (node:http's default is 2,000 a head, the listener's 100). Without it,
 * 100,000 small set-headers cost the gateway about 2 s of its thread per call, outside fuel.
 */
export const MAX_GUEST_HEADERS = 1_000;

function checkHeaderCount(len: number): void {
  if (len > MAX_GUEST_HEADERS) throw new GuestTrap(`the guest handed the host a header list of ${len} entries (at most ${MAX_GUEST_HEADERS})`);
}

function decodeUtf8(u8: Uint8Array, ptr: number, len: number): string {
  try {
    return decoder.decode(u8.subarray(ptr, ptr + len));
  } catch {
    throw new GuestTrap(`invalid UTF-8 in a string at ${ptr}+${len}`);
  }
}

export class GuestView {
  protected readonly memory: WebAssembly.Memory;
  /** A plain Uint8Array, so that slice() copies (Buffer#slice would alias guest memory). */
  protected u8: Uint8Array;
  /** The same bytes as a Buffer, for its native latin1 writer. */
  protected buf: Buffer;
  protected view: DataView;
  /** Current size of memory, in bytes (bounds checks). */
  protected size: number;
  /** Bytes one hook call may lift in all. */
  readonly liftBudget: number;
  /** Bytes the current call may still lift. */
  private budget: number;

  constructor(memory: WebAssembly.Memory, liftBudget = DEFAULT_LIFT_BUDGET) {
    this.memory = memory;
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

  /** `ptr` and `len` are unsigned (callers convert with `>>> 0`). */
  protected check(ptr: number, len: number): void {
    if (ptr + len > this.size) {
      throw new GuestTrap(`guest pointer out of bounds: ${ptr}+${len} > ${this.size}`);
    }
  }

  /**
   * The guest's return area of `size` bytes at `ptr`: in bounds and aligned to `align`, as the
   * canonical ABI requires; answers the unsigned pointer. Checked before the host acts on a call.
   */
  area(ptr: number, size: number, align: number): number {
    ptr >>>= 0;
    if ((ptr & (align - 1)) !== 0) throw new GuestTrap(`guest return pointer ${ptr} is not aligned to ${align}`);
    this.check(ptr, size);
    return ptr;
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
    checkHeaderCount(len);
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
    checkHeaderCount(len);
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
}
