/**
 * Corrupt components for load tests: a core module whose size fields lie, spliced back into its
 * component with every enclosing size recomputed (so only the lying field is wrong).
 */
import { Reader, sections, uleb } from '../../runtime/component/wasm-binary.ts';

function concat(parts: Array<Uint8Array | number[]>): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Pads a u32 to a 5-byte LEB128 (as linkers do for relocatable sizes). */
function leb5(n: number): number[] {
  return [0x80 | (n & 0x7f), 0x80 | ((n >>> 7) & 0x7f), 0x80 | ((n >>> 14) & 0x7f), 0x80 | ((n >>> 21) & 0x7f), (n >>> 28) & 0x0f];
}

/** The core module with the first function body's size field replaced by `size` (5-byte LEB). */
export function withFirstBodySize(core: Uint8Array, size: number): Uint8Array {
  const parts: Array<Uint8Array | number[]> = [core.subarray(0, 8)];
  for (const s of sections(core)) {
    if (s.id !== 10) {
      parts.push(core.subarray(s.start, s.end));
      continue;
    }
    const r = new Reader(core, s.payloadStart, s.end);
    const count = r.u32();
    r.u32();
    const payload = concat([uleb(count), leb5(size), core.subarray(r.pos, s.end)]);
    parts.push([10, ...uleb(payload.length)], payload);
  }
  return concat(parts);
}

/** `(global (mut i32) (i32.const 0))` as the binary encodes it. */
const MUT_I32_ZERO = [0x7f, 0x01, 0x41, 0x00, 0x0b];

/**
 * The core module without its last global, which must be `(global (mut i32) (i32.const 0))`:
 * code that used it now names an index past the end (invalid), the index a global added
 * after the module's own would take.
 */
export function withoutLastGlobal(core: Uint8Array): Uint8Array {
  const parts: Array<Uint8Array | number[]> = [core.subarray(0, 8)];
  for (const s of sections(core)) {
    if (s.id !== 6) {
      parts.push(core.subarray(s.start, s.end));
      continue;
    }
    const r = new Reader(core, s.payloadStart, s.end);
    const count = r.u32();
    const last = Array.from(core.subarray(s.end - MUT_I32_ZERO.length, s.end));
    if (last.join() !== MUT_I32_ZERO.join()) throw new Error('the last global is not (mut i32) (i32.const 0)');
    const payload = concat([uleb(count - 1), core.subarray(r.pos, s.end - MUT_I32_ZERO.length)]);
    parts.push([6, ...uleb(payload.length)], payload);
  }
  return concat(parts);
}

/** The component with its `index`th core module section replaced by `core`. */
export function withCoreModule(component: Uint8Array, index: number, core: Uint8Array): Uint8Array {
  const parts: Array<Uint8Array | number[]> = [component.subarray(0, 8)];
  let n = 0;
  for (const s of sections(component)) {
    if (s.id === 1 && n++ === index) parts.push([1, ...uleb(core.length)], core);
    else parts.push(component.subarray(s.start, s.end));
  }
  return concat(parts);
}
