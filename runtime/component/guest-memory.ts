/**
 * Reads and writes canonical-ABI values in one guest's linear memory (docs/abi.md).
 * The views are refreshed whenever the memory has grown, since growth detaches the old buffer.
 */
import { GuestTrap } from './errors.ts';
import type { HeaderList } from './types.ts';

export type Realloc = (oldPtr: number, oldSize: number, align: number, newSize: number) => number;

const encoder = new TextEncoder();

export class GuestMemory {
  private readonly memory: WebAssembly.Memory;
  private readonly realloc: Realloc;
  private buffer!: ArrayBuffer;
  private u8!: Buffer;
  private view!: DataView;

  constructor(memory: WebAssembly.Memory, realloc: Realloc) {
    this.memory = memory;
    this.realloc = realloc;
    this.refresh();
  }

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  private refresh(): void {
    const buffer = this.memory.buffer;
    if (buffer === this.buffer) return;
    this.buffer = buffer;
    this.u8 = Buffer.from(buffer);
    this.view = new DataView(buffer);
  }

  private check(ptr: number, len: number): void {
    if (ptr + len > this.buffer.byteLength) {
      throw new GuestTrap(`guest pointer out of bounds: ${ptr}+${len} > ${this.buffer.byteLength}`);
    }
  }

  // ---- reading (guest -> host) ----

  u8At(ptr: number): number {
    this.refresh();
    this.check(ptr, 1);
    return this.u8[ptr]!;
  }
  u16At(ptr: number): number {
    this.refresh();
    this.check(ptr, 2);
    return this.view.getUint16(ptr, true);
  }
  u32At(ptr: number): number {
    this.refresh();
    this.check(ptr, 4);
    return this.view.getUint32(ptr, true);
  }

  string(ptr: number, len: number): string {
    if (len === 0) return '';
    this.refresh();
    this.check(ptr, len);
    return this.u8.toString('utf8', ptr, ptr + len);
  }
  /** A string whose (ptr, len) pair is stored at `at`. */
  stringAt(at: number): string {
    return this.string(this.u32At(at), this.u32At(at + 4));
  }
  bytes(ptr: number, len: number): Uint8Array {
    this.refresh();
    this.check(ptr, len);
    return this.u8.slice(ptr, ptr + len);
  }
  bytesAt(at: number): Uint8Array {
    return this.bytes(this.u32At(at), this.u32At(at + 4));
  }
  headers(ptr: number, len: number): HeaderList {
    this.refresh();
    this.check(ptr, len * 16);
    const out: HeaderList = new Array(len);
    for (let i = 0; i < len; i++) {
      const p = ptr + i * 16;
      out[i] = [this.stringAt(p), this.stringAt(p + 8)];
    }
    return out;
  }
  headersAt(at: number): HeaderList {
    return this.headers(this.u32At(at), this.u32At(at + 4));
  }
  stringListAt(at: number): string[] {
    const ptr = this.u32At(at);
    const len = this.u32At(at + 4);
    this.check(ptr, len * 8);
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
    const ptr = this.realloc(0, 0, align, size);
    this.refresh();
    if (ptr === 0 || ptr % align !== 0 || ptr + size > this.buffer.byteLength) {
      throw new GuestTrap(`cabi_realloc returned an unusable pointer ${ptr} for ${size} bytes`);
    }
    return ptr;
  }

  /** Copies a string into fresh guest memory; returns [ptr, byteLength]. */
  putString(s: string): [number, number] {
    const n = s.length;
    if (n === 0) return [1, 0];
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      const ptr = this.alloc(n, 1);
      this.u8.write(s, ptr, n, 'latin1');
      return [ptr, n];
    }
    const len = Buffer.byteLength(s, 'utf8');
    const ptr = this.alloc(len, 1);
    encoder.encodeInto(s, this.u8.subarray(ptr, ptr + len));
    return [ptr, len];
  }

  putBytes(b: Uint8Array): [number, number] {
    if (b.length === 0) return [1, 0];
    const ptr = this.alloc(b.length, 1);
    this.u8.set(b, ptr);
    return [ptr, b.length];
  }

  putHeaders(list: HeaderList): [number, number] {
    const n = list.length;
    if (n === 0) return [4, 0];
    const ptr = this.alloc(n * 16, 4);
    for (let i = 0; i < n; i++) {
      const [name, value] = list[i]!;
      const [np, nl] = this.putString(name);
      const [vp, vl] = this.putString(value);
      const p = ptr + i * 16;
      this.view.setUint32(p, np, true);
      this.view.setUint32(p + 4, nl, true);
      this.view.setUint32(p + 8, vp, true);
      this.view.setUint32(p + 12, vl, true);
    }
    return [ptr, n];
  }

  setU8(at: number, v: number): void {
    this.refresh();
    this.check(at, 1);
    this.u8[at] = v;
  }
  setU16(at: number, v: number): void {
    this.refresh();
    this.check(at, 2);
    this.view.setUint16(at, v, true);
  }
  setU32(at: number, v: number): void {
    this.refresh();
    this.check(at, 4);
    this.view.setUint32(at, v, true);
  }
  setPair(at: number, pair: [number, number]): void {
    this.setU32(at, pair[0]);
    this.setU32(at + 4, pair[1]);
  }
}
