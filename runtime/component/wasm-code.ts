/**
 * A decoder of function bodies (and constant expressions): MVP, sign extension, saturating
 * truncation, bulk memory, reference types, multi-value blocks, tail calls, fixed-width and
 * relaxed SIMD, exception handling (legacy `try` and `try_table`). Anything else (threads, GC,
 * typed references...) throws Unsupported, so callers can fall back to a safe answer. It records
 * what the call-graph walk (reachability.ts) and the fuel instrumentation (fuel.ts) need.
 * Callers hand it modules that passed `WebAssembly.validate`: it skips immediates, it does not
 * check them.
 */
import type { Reader } from './wasm-binary.ts';

/** The decoder met something it does not know; callers fall back to their safe answer. */
export class Unsupported extends Error {}

export const FUNCREF = 0x70;
const EXTERNREF = 0x6f;
const EXNREF = 0x69;
const VALTYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, FUNCREF, EXTERNREF, EXNREF]);

export function valtype(r: Reader): number {
  const t = r.byte();
  if (!VALTYPES.has(t)) throw new Unsupported(`value type 0x${t.toString(16)}`);
  return t;
}

export function reftype(r: Reader): number {
  const t = r.byte();
  if (t !== FUNCREF && t !== EXTERNREF && t !== EXNREF) throw new Unsupported(`reference type 0x${t.toString(16)}`);
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
  /**
   * When present (with `loops`), instructions per fuel region: [0] the function body outside any
   * loop, [i + 1] loop i's own body (nested loops excluded). Each region is what one pass through
   * its entry can run at most before the next check, so its count is the fuel that entry costs.
   */
  weights?: number[];
  /**
   * When present, the offset of each bulk instruction whose work grows with an i32 length on
   * top of the stack: memory.init/copy/fill, table.init/copy/fill.
   */
  bulk?: number[];
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
  const weights = body.weights;
  /** Per open block, the fuel region it counts into (a loop opens its own). */
  const regions: number[] = [];
  let region = 0;
  if (weights) weights[0] = 0;
  for (;;) {
    const at = r.pos;
    const op = r.byte();
    if (weights) weights[region]!++;
    if (op >= 0x45 && op <= 0xc4) continue; // numeric, no immediates (MVP + sign extension)
    if (op >= 0x28 && op <= 0x3e) {
      skipMemarg(r);
      continue;
    }
    switch (op) {
      case 0x00: case 0x01: case 0x05: case 0x0f: case 0x1a: case 0x1b: case 0xd1:
      case 0x0a: case 0x19:
        break; // unreachable, nop, else, return, drop, select, ref.is_null, throw_ref, catch_all
      case 0x02: case 0x03: case 0x04: case 0x06: case 0x1f: // block, loop, if, try, try_table
        skipBlockType(r);
        if (op === 0x1f) skipCatches(r);
        regions.push(region);
        if (op === 0x03) {
          body.loops?.push(r.pos);
          if (weights) {
            region = weights.length;
            weights.push(0);
          }
        }
        depth++;
        break;
      case 0x0b: case 0x18: // end; delegate (ends a try)
        if (op === 0x18) r.u32();
        if (depth === 0) return;
        region = regions.pop()!;
        depth--;
        break;
      case 0x07: case 0x08: case 0x09: // catch tag, throw tag, rethrow label
        r.u32();
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
        if (sub === 8 || sub === 10 || sub === 11 || sub === 12 || sub === 14 || sub === 17) body.bulk?.push(at);
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
      case 0xfd:
        skipSimd(r, at);
        break;
      default:
        throw new Unsupported(`opcode 0x${op.toString(16)} at byte ${at}`);
    }
  }
}

/** try_table's catch clauses: a kind, then a tag (catch, catch_ref) and a label. */
function skipCatches(r: Reader): void {
  for (let n = r.u32(); n > 0; n--) {
    const kind = r.byte();
    if (kind > 3) throw new Unsupported(`catch kind ${kind}`);
    if (kind < 2) r.u32();
    r.u32();
  }
}

/** The immediates of a 0xfd (SIMD, relaxed SIMD) instruction; sub-opcodes per the spec's table. */
function skipSimd(r: Reader, at: number): void {
  const sub = r.u32();
  if (sub <= 0x0b || sub === 0x5c || sub === 0x5d) skipMemarg(r); // loads, store, load32/64_zero
  else if (sub === 0x0c || sub === 0x0d) r.skip(16); // v128.const, i8x16.shuffle
  else if (sub >= 0x15 && sub <= 0x22) r.skip(1); // extract/replace lane
  else if (sub >= 0x54 && sub <= 0x5b) { skipMemarg(r); r.skip(1); } // load/store lane
  else if ((sub >= 0x0e && sub <= 0x14) || (sub >= 0x23 && sub <= 0x53) || (sub >= 0x5e && sub <= 0xff) || (sub >= 0x100 && sub <= 0x113)) return;
  else throw new Unsupported(`opcode 0xfd ${sub} at byte ${at}`);
}

/** A constant expression: its function references count, and it must not call anything. */
export function constExpr(r: Reader, refs: Set<number>): void {
  const body: Body = { calls: [], indirect: false };
  decode(r, body, refs);
  if (body.calls.length || body.indirect) throw new Unsupported('a call in a constant expression');
}

