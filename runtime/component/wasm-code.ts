/**
 * A decoder of function bodies (and constant expressions): MVP, sign extension, saturating
 * truncation, bulk memory, reference types, multi-value blocks. Anything else (SIMD, threads,
 * GC, exceptions...) throws Unsupported, so callers can fall back to a safe answer. It records
 * what the call-graph walk (reachability.ts) and the loop instrumentation (fuel.ts) need.
 */
import type { Reader } from './wasm-binary.ts';

/** The decoder met something it does not know; callers fall back to their safe answer. */
export class Unsupported extends Error {}

export const FUNCREF = 0x70;
const EXTERNREF = 0x6f;
const VALTYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, FUNCREF, EXTERNREF]);

export function valtype(r: Reader): number {
  const t = r.byte();
  if (!VALTYPES.has(t)) throw new Unsupported(`value type 0x${t.toString(16)}`);
  return t;
}

export function reftype(r: Reader): number {
  const t = r.byte();
  if (t !== FUNCREF && t !== EXTERNREF) throw new Unsupported(`reference type 0x${t.toString(16)}`);
  return t;
}

/** Limits of a table or memory; 64-bit and shared flags are tolerated (the values are skipped). */
export function skipLimits(r: Reader): void {
  const flags = r.byte();
  if (flags & ~0x07) throw new Unsupported(`limits flags 0x${flags.toString(16)}`);
  r.skipSigned(10);
  if (flags & 1) r.skipSigned(10);
}

/** What one function body (or constant expression) does that matters to the call graph. */
export interface Body {
  calls: number[];
  indirect: boolean;
  /** When present, the offset of each loop body's first instruction (after its block type). */
  loops?: number[];
}

/** Block type: empty, a value type, or a (non-negative) type index as s33. */
function skipBlockType(r: Reader): void {
  const b = r.bytes[r.pos];
  if (b === 0x40) {
    r.pos++;
    return;
  }
  if (b !== undefined && VALTYPES.has(b)) {
    r.pos++;
    return;
  }
  if (b !== undefined && b & 0x40 && !(b & 0x80)) throw new Unsupported(`block type 0x${b.toString(16)}`); // a negative one-byte s33 that is no value type
  const start = r.pos;
  r.skipSigned(5);
  if (r.bytes[r.pos - 1]! & 0x40) throw new Unsupported(`negative block type at byte ${start}`);
}

function skipMemarg(r: Reader): void {
  const align = r.u32();
  if (align & 0x40) r.u32(); // multi-memory: a memory index follows
  r.skipSigned(10); // offset (u64 under memory64)
}

/**
 * Decodes instructions up to the `end` that closes the outermost level (a function body's or a
 * constant expression's), recording calls in `body` and function references in `refs`.
 */
export function decode(r: Reader, body: Body, refs: Set<number>): void {
  let depth = 0;
  for (;;) {
    const at = r.pos;
    const op = r.byte();
    if (op >= 0x45 && op <= 0xc4) continue; // numeric, no immediates (MVP + sign extension)
    if (op >= 0x28 && op <= 0x3e) {
      skipMemarg(r);
      continue;
    }
    switch (op) {
      case 0x00: case 0x01: case 0x05: case 0x0f: case 0x1a: case 0x1b: case 0xd1:
        break; // unreachable, nop, else, return, drop, select, ref.is_null
      case 0x02: case 0x03: case 0x04:
        skipBlockType(r);
        if (op === 0x03) body.loops?.push(r.pos);
        depth++;
        break;
      case 0x0b:
        if (depth === 0) return;
        depth--;
        break;
      case 0x0c: case 0x0d:
        r.u32();
        break;
      case 0x0e:
        for (let n = r.u32(); n >= 0; n--) r.u32(); // n labels and the default
        break;
      case 0x10: case 0x12:
        body.calls.push(r.u32());
        break;
      case 0x11: case 0x13:
        r.u32();
        r.u32();
        body.indirect = true;
        break;
      case 0x14: case 0x15:
        r.u32();
        body.indirect = true;
        break;
      case 0x1c:
        for (let n = r.u32(); n > 0; n--) valtype(r);
        break;
      case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26:
        r.u32();
        break;
      case 0x3f: case 0x40:
        r.u32();
        break;
      case 0x41:
        r.skipSigned(5);
        break;
      case 0x42:
        r.skipSigned(10);
        break;
      case 0x43:
        r.skip(4);
        break;
      case 0x44:
        r.skip(8);
        break;
      case 0xd0:
        reftype(r);
        break;
      case 0xd2:
        refs.add(r.u32());
        break;
      case 0xfc: {
        const sub = r.u32();
        if (sub <= 7) break; // saturating truncation
        switch (sub) {
          case 8: case 10: case 12: case 14: // memory.init, memory.copy, table.init, table.copy
            r.u32();
            r.u32();
            break;
          case 9: case 11: case 13: case 15: case 16: case 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
            r.u32();
            break;
          default:
            throw new Unsupported(`opcode 0xfc ${sub} at byte ${at}`);
        }
        break;
      }
      default:
        throw new Unsupported(`opcode 0x${op.toString(16)} at byte ${at}`);
    }
  }
}

/** A constant expression: its function references count, and it must not call anything. */
export function constExpr(r: Reader, refs: Set<number>): void {
  const body: Body = { calls: [], indirect: false };
  decode(r, body, refs);
  if (body.calls.length || body.indirect) throw new Unsupported('a call in a constant expression');
}

