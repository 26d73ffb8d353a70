/**
 * Which exports of a core module may reach a given set of imported functions: a call-graph walk
 * over the code section, decoded instruction by instruction. The fast binding uses it to wrap in
 * JSPI `promising` only the hooks that may suspend; a hook answered "cannot reach" is called
 * synchronously, and a wrong answer would make the guest trap, so every doubt answers "may reach":
 *
 * - `call` / `return_call` are edges to their callee;
 * - `call_indirect`, `return_call_indirect`, `call_ref`, `return_call_ref` may reach any function
 *   the module ever names as a value: in an element segment (active, passive or declarative), by
 *   `ref.func` in code, or in a global's or table's initialiser;
 * - when a table, or a funcref global, crosses the module boundary, or a funcref can come in or go
 *   out through an imported or exported function's signature, any indirect call may reach anything
 *   (every function and every import counts as a target).
 *
 * An exported function is not by itself a possible indirect target. The host holds it, but a
 * funcref from the host can only get into the module's tables or locals through one of the
 * boundary crossings above (an imported or exported table, a funcref global, a funcref parameter
 * or result), and each of those already makes every indirect call "may reach". Without this, any
 * module whose hooks share a `call_indirect` (AssemblyScript's lazily built filter object, say)
 * would have every hook reach whichever hook calls out.
 * - an opcode, immediate, type or section the decoder does not know (SIMD, threads, GC,
 *   exceptions, ...) or any malformation gives up: every export may reach.
 *
 * The start function runs at instantiation and is not an export: it is not looked at specially.
 */
import { Reader, coreExports, sections } from './wasm-binary.ts';
import { type Body, FUNCREF, Unsupported, constExpr, decode, reftype, skipLimits, valtype } from './wasm-code.ts';

export interface Reachability {
  /** Export name (functions only) -> whether calling it may reach one of the target imports. */
  mayReach: Map<string, boolean>;
  /** Why the analysis gave up and answered "may reach" everywhere; absent when it did not. */
  gaveUp?: string;
}

interface Module {
  importedFuncs: number;
  /** Type index of every function, imported ones first. */
  funcTypes: number[];
  bodies: Body[];
  /** Functions named as values anywhere (elements, ref.func in code and initialisers). */
  refs: Set<number>;
  /** A table or funcref can cross the module boundary: an indirect call may reach anything. */
  open: string | undefined;
  exports: { name: string; func: number }[];
}

function analyseModule(bytes: Uint8Array): Module {
  const m: Module = { importedFuncs: 0, funcTypes: [], bodies: [], refs: new Set(), open: undefined, exports: [] };
  /** Per type index: whether its signature mentions funcref. */
  const typeHasFuncref: boolean[] = [];
  const globalIsFuncref: boolean[] = [];
  let definedFuncs = 0;
  let sawCode = false;
  for (const sec of sections(bytes)) {
    const r = new Reader(bytes, sec.payloadStart, sec.end);
    switch (sec.id) {
      case 0: continue; // custom
      case 1: // types
        for (let n = r.u32(); n > 0; n--) {
          const form = r.byte();
          if (form !== 0x60) throw new Unsupported(`type form 0x${form.toString(16)}`);
          let funcref = false;
          for (let k = 0; k < 2; k++) for (let p = r.u32(); p > 0; p--) if (valtype(r) === FUNCREF) funcref = true;
          typeHasFuncref.push(funcref);
        }
        break;
      case 2: // imports
        for (let n = r.u32(); n > 0; n--) {
          r.name();
          r.name();
          const kind = r.byte();
          switch (kind) {
            case 0: m.funcTypes.push(r.u32()); m.importedFuncs++; break;
            case 1: reftype(r); skipLimits(r); m.open ??= 'imports a table'; break;
            case 2: skipLimits(r); break;
            case 3: {
              const t = valtype(r);
              r.byte();
              globalIsFuncref.push(t === FUNCREF);
              if (t === FUNCREF) m.open ??= 'imports a funcref global';
              break;
            }
            default: throw new Unsupported(`import kind ${kind}`);
          }
        }
        break;
      case 3: // functions
        for (let n = r.u32(); n > 0; n--) {
          m.funcTypes.push(r.u32());
          definedFuncs++;
        }
        break;
      case 4: // tables
        for (let n = r.u32(); n > 0; n--) {
          if (r.bytes[r.pos] === 0x40) {
            r.pos++;
            if (r.byte() !== 0x00) throw new Unsupported('table encoding');
            reftype(r);
            skipLimits(r);
            constExpr(r, m.refs);
          } else {
            reftype(r);
            skipLimits(r);
          }
        }
        break;
      case 5: // memories
        for (let n = r.u32(); n > 0; n--) skipLimits(r);
        break;
      case 6: // globals
        for (let n = r.u32(); n > 0; n--) {
          globalIsFuncref.push(valtype(r) === FUNCREF);
          r.byte();
          constExpr(r, m.refs);
        }
        break;
      case 7: // exports
        for (let n = r.u32(); n > 0; n--) {
          const name = r.name();
          const kind = r.byte();
          const index = r.u32();
          if (kind === 0) {
            m.exports.push({ name, func: index }); // not a value by itself: see the note at the top
          } else if (kind === 1) {
            m.open ??= 'exports a table';
          } else if (kind === 3) {
            if (globalIsFuncref[index] !== false) m.open ??= 'exports a funcref global';
          } else if (kind !== 2) {
            throw new Unsupported(`export kind ${kind}`);
          }
        }
        break;
      case 8: // start
        r.u32();
        break;
      case 9: // elements
        for (let n = r.u32(); n > 0; n--) {
          const flags = r.u32();
          if (flags > 7) throw new Unsupported(`element segment flags ${flags}`);
          if ((flags & 1) === 0) {
            if (flags & 2) r.u32(); // table index
            constExpr(r, m.refs); // offset
          }
          const exprs = (flags & 4) !== 0;
          if (flags & 3) {
            if (exprs) reftype(r);
            else if (r.byte() !== 0x00) throw new Unsupported('element kind');
          }
          for (let k = r.u32(); k > 0; k--) {
            if (exprs) constExpr(r, m.refs);
            else m.refs.add(r.u32());
          }
        }
        break;
      case 10: { // code
        sawCode = true;
        const count = r.u32();
        if (count !== definedFuncs) throw new Unsupported(`${count} bodies for ${definedFuncs} functions`);
        for (let i = 0; i < count; i++) {
          const size = r.u32();
          const end = r.pos + size;
          if (end > sec.end) throw new Unsupported('a function body runs past its section');
          const br = new Reader(bytes, r.pos, end);
          for (let l = br.u32(); l > 0; l--) {
            br.u32();
            valtype(br);
          }
          const body: Body = { calls: [], indirect: false };
          decode(br, body, m.refs);
          if (br.pos !== end) throw new Unsupported(`function ${m.importedFuncs + i} has bytes after its end`);
          m.bodies.push(body);
          r.pos = end;
        }
        break;
      }
      case 11: // data
        for (let n = r.u32(); n > 0; n--) {
          const flags = r.u32();
          if (flags === 0) constExpr(r, m.refs);
          else if (flags === 2) { r.u32(); constExpr(r, m.refs); }
          else if (flags !== 1) throw new Unsupported(`data segment flags ${flags}`);
          r.skip(r.u32());
        }
        break;
      case 12: // data count
        r.u32();
        break;
      default:
        throw new Unsupported(`section ${sec.id}`);
    }
    if (r.pos !== sec.end) throw new Unsupported(`section ${sec.id} has bytes the reader did not expect`);
  }
  if (!sawCode && definedFuncs > 0) throw new Unsupported('functions without a code section');
  const total = m.importedFuncs + definedFuncs;
  for (const f of m.refs) if (f >= total) throw new Unsupported(`reference to function ${f} of ${total}`);
  for (const b of m.bodies) for (const f of b.calls) if (f >= total) throw new Unsupported(`call to function ${f} of ${total}`);
  // A funcref through an imported or exported function's signature crosses the boundary too.
  for (let f = 0; f < m.importedFuncs; f++) if (typeHasFuncref[m.funcTypes[f]!] !== false) m.open ??= 'an import passes funcrefs';
  for (const e of m.exports) if (typeHasFuncref[m.funcTypes[e.func]!] !== false) m.open ??= 'an export passes funcrefs';
  return m;
}

/**
 * For each function export of `bytes` (a core module), whether calling it may reach one of the
 * imported functions whose indices are `targets` (indices in the function index space, which
 * counts imported functions first).
 */
export function exportsReaching(bytes: Uint8Array, targets: ReadonlySet<number>): Reachability {
  let m: Module;
  try {
    m = analyseModule(bytes);
  } catch (err) {
    const mayReach = new Map<string, boolean>();
    try {
      for (const e of coreExports(bytes)) if (e.kind === 0) mayReach.set(e.name, true);
    } catch {
      // even the export list is unreadable: callers treat an unknown export as "may reach"
    }
    return { mayReach, gaveUp: (err as Error).message };
  }
  const total = m.funcTypes.length;
  const INDIRECT = total; // one node standing for every indirect call
  const callers: number[][] = Array.from({ length: total + 1 }, () => []);
  for (let i = 0; i < m.bodies.length; i++) {
    const f = m.importedFuncs + i;
    const b = m.bodies[i]!;
    for (const c of b.calls) callers[c]!.push(f);
    if (b.indirect) callers[INDIRECT]!.push(f);
  }
  for (const r of m.refs) callers[r]!.push(INDIRECT);
  const reaches = new Uint8Array(total + 1);
  const work: number[] = [];
  const mark = (f: number): void => {
    if (!reaches[f]) {
      reaches[f] = 1;
      work.push(f);
    }
  };
  for (const t of targets) if (t < total) mark(t);
  if (m.open) mark(INDIRECT);
  while (work.length) for (const c of callers[work.pop()!]!) mark(c);
  const mayReach = new Map<string, boolean>();
  for (const e of m.exports) mayReach.set(e.name, reaches[e.func] === 1);
  return { mayReach };
}

/** Function indices of the imports from `module` (imported functions come first in the index space). */
export function importedFunctionIndices(imports: readonly { module: string; kind: number }[], module: string | ReadonlySet<string>): Set<number> {
  const out = new Set<number>();
  const wanted = typeof module === 'string' ? new Set([module]) : module;
  let f = 0;
  for (const i of imports) {
    if (i.kind !== 0) continue;
    if (wanted.has(i.module)) out.add(f);
    f++;
  }
  return out;
}
