/**
 * Fuel: wasm cannot be interrupted from JavaScript on the same thread, so a filter stuck in a
 * loop, or recursing, or tail-calling itself, would stall the whole gateway. The core module is
 * rewritten before compiling: a new exported, mutable i32 global (`praxis_fuel`) and, at the
 * entry of every function and the head of every loop,
 *
 *     fuel -= weight; if (fuel < 0) unreachable
 *
 * where `weight` is the number of instructions the region after that check can run before the
 * next check (the function body outside its loops, or one loop's own body): fuel approximates
 * instructions executed. Every way to run code again (a loop's back edge, any call, direct,
 * indirect or tail) passes a check, so nothing runs unmetered. Bulk instructions (memory.fill,
 * memory.copy, table.fill...) do work in proportion to their length operand, so each is preceded
 * by a call to an added function that charges the length too. The host sets the fuel before each
 * call; a hook that runs out traps with the global below zero, which is how the host tells a
 * spent budget from any other trap. The start function runs inside `WebAssembly.instantiate`,
 * before the host can touch the global, so the global's initial value is the start budget.
 *
 * The input must be valid (checked here: a module that is invalid as given could become valid
 * once a global is added, e.g. a `global.set` of the index the fuel global will take), and the
 * output is validated again. A module the decoder cannot read is returned as is, with the reason.
 */
import { ComponentLoadError } from './errors.ts';
import { Reader, coreExports, sections, uleb } from './wasm-binary.ts';
import { type Body, Unsupported, decode, skipLimits, valtype } from './wasm-code.ts';
import { Sink, appended, section, sleb } from './wasm-emit.ts';

export const FUEL_EXPORT = 'praxis_fuel';
/** The most fuel the i32 global can hold. */
export const MAX_FUEL = 0x7fffffff;
/** Fuel of a start function when the caller names none (about a hook call's worth). */
export const DEFAULT_START_FUEL = 100_000_000;

export interface FuelOptions {
  /** The global's initial value: what the start function (and anything before the host sets it) may spend. */
  startFuel?: number;
}

export type FuelResult =
  | { module: Uint8Array; instrumented: true; loops: number; functions: number }
  | { module: Uint8Array; instrumented: false; why: string };

/** The check inserted at a function entry or loop head, for the fuel global at index `g`. */
function check(g: number[], weight: number): Uint8Array {
  return Uint8Array.from([
    0x23, ...g, 0x41, ...sleb(weight), 0x6b, 0x24, ...g, // global.get g; i32.const weight; i32.sub; global.set g
    0x23, ...g, 0x41, 0x00, 0x48, // global.get g; i32.const 0; i32.lt_s
    0x04, 0x40, 0x00, 0x0b, // if; unreachable; end
  ]);
}

export function withLoopFuel(module: Uint8Array, opts: FuelOptions = {}): FuelResult {
  if (!WebAssembly.validate(module as BufferSource)) throw new ComponentLoadError('invalid-module', 'a core module is not valid WebAssembly');
  if (coreExports(module).some((e) => e.name === FUEL_EXPORT)) {
    throw new ComponentLoadError('reserved-export', `a core module exports "${FUEL_EXPORT}", the name the host gives its fuel global`);
  }
  const startFuel = Math.max(0, Math.min(Math.floor(opts.startFuel ?? DEFAULT_START_FUEL), MAX_FUEL));
  let out: FuelResult;
  try {
    out = instrument(module, startFuel);
  } catch (err) {
    if (err instanceof Unsupported || err instanceof ComponentLoadError) return { module, instrumented: false, why: err.message };
    throw err;
  }
  if (!WebAssembly.validate(out.module as BufferSource)) return { module, instrumented: false, why: 'the instrumented module does not validate' };
  return out;
}

/** How many functions and globals are imported (the module's own come after them in each index space). */
function countImports(r: Reader): { funcs: number; globals: number } {
  let funcs = 0;
  let globals = 0;
  for (let n = r.u32(); n > 0; n--) {
    r.name();
    r.name();
    const kind = r.byte();
    if (kind === 0) { r.u32(); funcs++; }
    else if (kind === 1) { valtype(r); skipLimits(r); }
    else if (kind === 2) skipLimits(r);
    else if (kind === 3) { valtype(r); r.byte(); globals++; }
    else if (kind === 4) { r.byte(); r.u32(); }
    else throw new Unsupported(`import kind ${kind}`);
  }
  return { funcs, globals };
}

/** `(func (param i32) (result i32))`, the type of the bulk-length charge. */
const CHARGE_TYPE = [0x60, 0x01, 0x7f, 0x01, 0x7f];
/** A bulk instruction costs one unit per 2^BULK_SHIFT bytes (or table entries) of its length. */
const BULK_SHIFT = 3;

/**
 * The body of the function called just before each bulk instruction: it takes the length off
 * the stack, charges it, and puts it back. One instruction that fills or copies megabytes would
 * otherwise cost as much fuel as one that adds two numbers.
 */
function chargeBody(g: number[]): Uint8Array {
  const code = [
    0x00, // no locals
    0x23, ...g, 0x20, 0x00, 0x41, BULK_SHIFT, 0x76, 0x6b, 0x24, ...g, // fuel -= len >>> BULK_SHIFT
    0x23, ...g, 0x41, 0x00, 0x48, 0x04, 0x40, 0x00, 0x0b, // if (fuel < 0) unreachable
    0x20, 0x00, 0x0b, // len
  ];
  return Uint8Array.from([...uleb(code.length), ...code]);
}

// Known sections in their canonical order; the global section comes before exports.
const ORDER: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };

function instrument(bytes: Uint8Array, startFuel: number): FuelResult {
  const secs = sections(bytes);
  let g = 0;
  let funcs = 0;
  let types = 0;
  for (const s of secs) {
    const r = new Reader(bytes, s.payloadStart, s.end);
    if (s.id === 1) types = r.u32();
    else if (s.id === 2) {
      const imported = countImports(r);
      g += imported.globals;
      funcs += imported.funcs;
    } else if (s.id === 3) funcs += r.u32();
    else if (s.id === 6) g += r.u32();
  }
  const gi = uleb(g);
  // The charge function, if any bulk instruction needs it, takes the next function index.
  const codeSection = secs.find((s) => s.id === 10);
  const code = codeSection ? instrumentCode(bytes, new Reader(bytes, codeSection.payloadStart, codeSection.end), codeSection.end, gi, uleb(funcs)) : undefined;
  const charge = code !== undefined && code.bulk > 0;
  // i32, mutable, holding the start budget until the host sets a hook's.
  const newGlobal = [0x7f, 0x01, 0x41, ...sleb(startFuel), 0x0b];
  const exportEntry = [...uleb(FUEL_EXPORT.length), ...new TextEncoder().encode(FUEL_EXPORT), 0x03, ...gi];

  const out = new Sink();
  out.push(bytes.subarray(0, 8));
  let wroteGlobals = false;
  let wroteExport = false;
  const emitIfDue = (nextId: number) => {
    if (nextId === 0) return; // custom sections may sit anywhere
    if (!wroteGlobals && (ORDER[nextId] ?? 99) > ORDER[6]!) {
      out.push(section(6, [...uleb(1), ...newGlobal]));
      wroteGlobals = true;
    }
    if (!wroteExport && (ORDER[nextId] ?? 99) > ORDER[7]!) {
      out.push(section(7, [...uleb(1), ...exportEntry]));
      wroteExport = true;
    }
  };
  for (const s of secs) {
    emitIfDue(s.id);
    if (s.id === 6 || s.id === 7) {
      out.push(appended(bytes, s, s.id === 6 ? newGlobal : exportEntry));
      if (s.id === 6) wroteGlobals = true;
      else wroteExport = true;
    } else if (s.id === 1 && charge) {
      out.push(appended(bytes, s, CHARGE_TYPE));
    } else if (s.id === 3 && charge) {
      out.push(appended(bytes, s, uleb(types)));
    } else if (s.id === 10 && code) {
      if (charge) code.payload.push(chargeBody(gi));
      out.push(section(10, uleb(code.count + (charge ? 1 : 0)), code.payload));
    } else {
      out.push(bytes.subarray(s.start, s.end));
    }
  }
  emitIfDue(99);
  return { module: out.bytes(), instrumented: true, loops: code?.loops ?? 0, functions: code?.count ?? 0 };
}

interface InstrumentedCode { payload: Sink; count: number; loops: number; bulk: number }

/** Every function body with its checks in (entry, loop heads) and a charge before each bulk instruction. */
function instrumentCode(bytes: Uint8Array, r: Reader, end: number, g: number[], chargeFn: number[]): InstrumentedCode {
  const count = r.u32();
  const payload = new Sink();
  const callCharge = Uint8Array.from([0x10, ...chargeFn]);
  let loops = 0;
  let bulk = 0;
  for (let i = 0; i < count; i++) {
    const size = r.u32();
    const bodyEnd = r.pos + size;
    if (bodyEnd > end) throw new Unsupported('a function body runs past its section');
    const br = new Reader(bytes, r.pos, bodyEnd);
    for (let l = br.u32(); l > 0; l--) {
      br.u32();
      valtype(br);
    }
    const codeStart = br.pos;
    const body: Body = { calls: [], indirect: false, loops: [], weights: [], bulk: [] };
    decode(br, body, new Set());
    if (br.pos !== bodyEnd) throw new Unsupported('bytes after a function body');
    const weights = body.weights!;
    // Insertion points in order: each loop head gets a check, each bulk instruction a charge.
    const points = [
      ...body.loops!.map((at, k) => ({ at, insert: check(g, weights[k + 1]!) })),
      ...body.bulk!.map((at) => ({ at, insert: callCharge })),
    ].sort((a, b) => a.at - b.at);
    const fn = new Sink();
    fn.push(bytes.subarray(r.pos, codeStart), check(g, weights[0]!));
    let from = codeStart;
    for (const p of points) {
      fn.push(bytes.subarray(from, p.at), p.insert);
      from = p.at;
    }
    fn.push(bytes.subarray(from, bodyEnd));
    loops += body.loops!.length;
    bulk += body.bulk!.length;
    payload.push(uleb(fn.length), fn.bytes());
    r.pos = bodyEnd;
  }
  return { payload, count, loops, bulk };
}
