/**
 * Loop fuel: a wasm loop cannot be interrupted from JavaScript on the same thread, so a filter
 * stuck in one would stall the whole gateway. The core module is rewritten before compiling:
 * a new exported, mutable i32 global (`praxis_fuel`) and, at the head of every loop,
 *
 *     fuel -= 1; if (fuel < 0) unreachable
 *
 * The host sets the fuel before each hook call; a hook that runs out traps, its instance is
 * destroyed, and the request gets the plugin's failure mode. Like wasmtime's fuel, but counted in
 * loop iterations only: straight-line code is bounded by its size, and recursion by the stack.
 * A module the decoder cannot read is left as it is (the caller is told why).
 */
import { Reader, sections, uleb } from './wasm-binary.ts';
import { type Body, Unsupported, decode, valtype } from './wasm-code.ts';

export const FUEL_EXPORT = 'praxis_fuel';

/** Collects byte pieces without spreading them (modules can be megabytes). */
class Sink {
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

function section(id: number, payload: Sink | Uint8Array | number[]): Sink {
  const body = payload instanceof Sink ? payload.bytes() : payload;
  const s = new Sink();
  s.push([id, ...uleb(body.length)], body);
  return s;
}

/** The check inserted at each loop head, for the fuel global at index `g`. */
function check(g: number): number[] {
  const gi = uleb(g);
  return [
    0x23, ...gi, 0x41, 0x01, 0x6b, 0x24, ...gi, // global.get g; i32.const 1; i32.sub; global.set g
    0x23, ...gi, 0x41, 0x00, 0x48, // global.get g; i32.const 0; i32.lt_s
    0x04, 0x40, 0x00, 0x0b, // if; unreachable; end
  ];
}

export type FuelResult = { module: Uint8Array; instrumented: true; loops: number } | { module: Uint8Array; instrumented: false; why: string };

export function withLoopFuel(module: Uint8Array): FuelResult {
  try {
    return instrument(module);
  } catch (err) {
    if (err instanceof Unsupported || err instanceof RangeError) return { module, instrumented: false, why: err.message };
    throw err;
  }
}

function instrument(bytes: Uint8Array): FuelResult {
  const secs = sections(bytes);
  let importedGlobals = 0;
  let definedGlobals = 0;
  for (const s of secs) {
    const r = new Reader(bytes, s.payloadStart, s.end);
    if (s.id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        r.name();
        r.name();
        const kind = r.byte();
        if (kind === 3) importedGlobals++;
        if (kind === 0) r.u32();
        else if (kind === 1) { r.byte(); const f = r.byte(); r.u32(); if (f & 1) r.u32(); }
        else if (kind === 2) { const f = r.byte(); r.u32(); if (f & 1) r.u32(); }
        else if (kind === 3) { r.byte(); r.byte(); }
        else throw new Unsupported(`import kind ${kind}`);
      }
    } else if (s.id === 6) {
      definedGlobals = r.u32();
    }
  }
  const g = importedGlobals + definedGlobals;
  // i32, mutable, starting full: a call the host did not fuel still runs.
  const newGlobal = [0x7f, 0x01, 0x41, 0xff, 0xff, 0xff, 0xff, 0x07, 0x0b];
  const exportEntry = [...uleb(FUEL_EXPORT.length), ...new TextEncoder().encode(FUEL_EXPORT), 0x03, ...uleb(g)];

  const out = new Sink();
  out.push(bytes.subarray(0, 8));
  let wroteGlobals = false;
  let wroteExport = false;
  let loops = 0;
  // Known sections in their canonical order; the global section comes before exports.
  const ORDER: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };
  const emitIfDue = (nextId: number) => {
    if (nextId === 0) return; // custom sections may sit anywhere
    if (!wroteGlobals && (ORDER[nextId] ?? 99) > ORDER[6]!) {
      out.push(section(6, [...uleb(1), ...newGlobal]).bytes());
      wroteGlobals = true;
    }
    if (!wroteExport && (ORDER[nextId] ?? 99) > ORDER[7]!) {
      out.push(section(7, [...uleb(1), ...exportEntry]).bytes());
      wroteExport = true;
    }
  };
  for (const s of secs) {
    emitIfDue(s.id);
    const r = new Reader(bytes, s.payloadStart, s.end);
    if (s.id === 6 || s.id === 7) {
      const n = r.u32();
      const body = new Sink();
      body.push(uleb(n + 1), bytes.subarray(r.pos, s.end), s.id === 6 ? newGlobal : exportEntry);
      out.push(section(s.id, body).bytes());
      if (s.id === 6) wroteGlobals = true;
      else wroteExport = true;
    } else if (s.id === 10) {
      const code = instrumentCode(bytes, r, s.end, check(g));
      loops += code.loops;
      out.push(section(10, code.payload).bytes());
    } else {
      out.push(bytes.subarray(s.start, s.end));
    }
  }
  emitIfDue(99);
  return { module: out.bytes(), instrumented: true, loops };
}

function instrumentCode(bytes: Uint8Array, r: Reader, end: number, inserted: number[]): { payload: Sink; loops: number } {
  const count = r.u32();
  const payload = new Sink();
  payload.push(uleb(count));
  const check = Uint8Array.from(inserted);
  let loops = 0;
  for (let i = 0; i < count; i++) {
    const size = r.u32();
    const bodyEnd = r.pos + size;
    if (bodyEnd > end) throw new Unsupported('a function body runs past its section');
    const br = new Reader(bytes, r.pos, bodyEnd);
    for (let l = br.u32(); l > 0; l--) {
      br.u32();
      valtype(br);
    }
    const body: Body = { calls: [], indirect: false, loops: [] };
    decode(br, body, new Set());
    if (br.pos !== bodyEnd) throw new Unsupported('bytes after a function body');
    const fn = new Sink();
    let from = r.pos;
    for (const at of body.loops!) {
      fn.push(bytes.subarray(from, at), check);
      from = at;
    }
    fn.push(bytes.subarray(from, bodyEnd));
    loops += body.loops!.length;
    payload.push(uleb(fn.length), fn.bytes());
    r.pos = bodyEnd;
  }
  return { payload, loops };
}
