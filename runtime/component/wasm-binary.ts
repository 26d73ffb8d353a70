/**
 * Just enough of the WebAssembly binary format to inspect and patch what the loader needs:
 * tell a component from a core module, find a component's core modules, list a core module's
 * imports and exports, and rewrite its memories' and tables' maximum. Everything else is kept
 * byte for byte.
 */
import { ComponentLoadError } from './errors.ts';

export const CORE_VERSION = [0x01, 0x00, 0x00, 0x00];
export const COMPONENT_VERSION = [0x0d, 0x00, 0x01, 0x00];
export const WASM_PAGE = 65536;

export interface Section {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  /** Offset of the payload (after the size). */
  payloadStart: number;
  end: number;
}

export class Reader {
  pos: number;
  readonly bytes: Uint8Array;
  readonly end: number;
  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }
  byte(): number {
    if (this.pos >= this.end) throw new ComponentLoadError('truncated', 'the binary ends in the middle of a section (truncated file?)');
    return this.bytes[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
    throw new ComponentLoadError('malformed', 'an integer in the binary is longer than 5 bytes');
  }
  /** Skips a signed LEB128 integer of at most `maxBytes` bytes (5 for s32/s33, 10 for s64). */
  skipSigned(maxBytes: number): void {
    for (let i = 0; i < maxBytes; i++) {
      if ((this.byte() & 0x80) === 0) return;
    }
    throw new ComponentLoadError('malformed', `a signed integer in the binary is longer than ${maxBytes} bytes`);
  }
  skip(n: number): void {
    if (this.pos + n > this.end) throw new ComponentLoadError('truncated', 'the binary ends in the middle of a section (truncated file?)');
    this.pos += n;
  }
  name(): string {
    const len = this.u32();
    if (this.pos + len > this.end) throw new ComponentLoadError('truncated', 'a name runs past the end of its section (truncated file?)');
    const s = new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }
}

export type BinaryKind = 'component' | 'core-module';

/** Which kind of wasm binary this is, or a precise error for anything else. */
export function binaryKind(bytes: Uint8Array): BinaryKind {
  if (bytes.length < 8) throw new ComponentLoadError('truncated', `only ${bytes.length} bytes: too short to be WebAssembly`);
  if (bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new ComponentLoadError('not-wasm', 'not a WebAssembly binary (no \\0asm magic at the start)');
  }
  const v = Array.from(bytes.subarray(4, 8));
  if (v.every((b, i) => b === COMPONENT_VERSION[i])) return 'component';
  if (v.every((b, i) => b === CORE_VERSION[i])) return 'core-module';
  throw new ComponentLoadError('malformed', `unknown WebAssembly version/layer bytes ${v.map((b) => b.toString(16)).join(' ')}`);
}

/** The top-level sections of a module or component, checked to fit the file. */
export function sections(bytes: Uint8Array, start = 8, end = bytes.length): Section[] {
  const out: Section[] = [];
  const r = new Reader(bytes, start, end);
  while (r.pos < end) {
    const sectionStart = r.pos;
    const id = r.byte();
    const size = r.u32();
    const payloadStart = r.pos;
    if (payloadStart + size > end) {
      throw new ComponentLoadError('truncated', `section ${id} at byte ${sectionStart} claims ${size} bytes but the file ends first (truncated file?)`);
    }
    out.push({ id, start: sectionStart, payloadStart, end: payloadStart + size });
    r.pos = payloadStart + size;
  }
  return out;
}

/** Component section id 1 holds a whole core module. */
export function coreModulesOfComponent(bytes: Uint8Array): Uint8Array[] {
  return sections(bytes)
    .filter((s) => s.id === 1)
    .map((s) => bytes.subarray(s.payloadStart, s.end));
}

/** Nested components deeper than this are refused (real ones nest one or two levels). */
export const MAX_COMPONENT_NESTING = 16;

/**
 * Every core module of a component, nested components (section 4) included. Only section
 * headers are read, each size checked against the bytes left, so the work is bounded by the
 * file's length and nothing is allocated by a size read from it.
 */
export function allCoreModules(bytes: Uint8Array, depth = 0): Uint8Array[] {
  if (depth > MAX_COMPONENT_NESTING) throw new ComponentLoadError('malformed', `components nested more than ${MAX_COMPONENT_NESTING} deep`);
  const out: Uint8Array[] = [];
  for (const s of sections(bytes)) {
    const payload = bytes.subarray(s.payloadStart, s.end);
    if (s.id === 1) out.push(payload);
    else if (s.id === 4) {
      if (binaryKind(payload) !== 'component') throw new ComponentLoadError('malformed', `the nested component at byte ${s.start} is not a component`);
      out.push(...allCoreModules(payload, depth + 1));
    }
  }
  return out;
}

export interface CoreImport { module: string; name: string; kind: number }
export interface CoreExport { name: string; kind: number }

export function coreImports(module: Uint8Array): CoreImport[] {
  const sec = sections(module).find((s) => s.id === 2);
  if (!sec) return [];
  const r = new Reader(module, sec.payloadStart, sec.end);
  const out: CoreImport[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const mod = r.name();
    const name = r.name();
    const kind = r.byte();
    skipImportDesc(r, kind);
    out.push({ module: mod, name, kind });
  }
  return out;
}

function skipLimits(r: Reader): void {
  const flags = r.byte();
  r.u32();
  if (flags & 1) r.u32();
}

function skipImportDesc(r: Reader, kind: number): void {
  switch (kind) {
    case 0: r.u32(); return; // func: type index
    case 1: r.byte(); skipLimits(r); return; // table
    case 2: skipLimits(r); return; // memory
    case 3: r.byte(); r.byte(); return; // global
    case 4: r.byte(); r.u32(); return; // tag
    default: throw new ComponentLoadError('malformed', `unknown import kind ${kind}`);
  }
}

export function coreExports(module: Uint8Array): CoreExport[] {
  const sec = sections(module).find((s) => s.id === 7);
  if (!sec) return [];
  const r = new Reader(module, sec.payloadStart, sec.end);
  const out: CoreExport[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const name = r.name();
    const kind = r.byte();
    r.u32();
    out.push({ name, kind });
  }
  return out;
}

/** Unsigned LEB128 encoding. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/**
 * Gives the module's own memory a maximum of `maxPages` (or keeps a smaller one), so that
 * `memory.grow` past the ceiling fails inside the guest instead of growing the host.
 * Returns the patched module; a module with no memory section is returned as is.
 */
export function withMemoryCeiling(module: Uint8Array, maxPages: number): Uint8Array {
  const sec = sections(module).find((s) => s.id === 5);
  if (!sec) return module;
  const r = new Reader(module, sec.payloadStart, sec.end);
  const count = r.u32();
  const body: number[] = [...uleb(count)];
  for (let i = 0; i < count; i++) {
    const flags = r.byte();
    if (flags & ~0x01) throw new ComponentLoadError('unsupported', `memory with flags 0x${flags.toString(16)} (shared or 64-bit) is not supported`);
    const min = r.u32();
    const max = flags & 1 ? r.u32() : undefined;
    if (min > maxPages) {
      throw new ComponentLoadError('memory-limit', `the plugin's memory starts at ${(min * WASM_PAGE) / 1048576} MiB, above its ceiling of ${(maxPages * WASM_PAGE) / 1048576} MiB`);
    }
    body.push(0x01, ...uleb(min), ...uleb(Math.min(max ?? maxPages, maxPages)));
  }
  return replaceSection(module, sec, body);
}

/** Entries a guest table may hold unless the plugin's `tableLimit` says otherwise. */
export const DEFAULT_TABLE_LIMIT = 10_000;

/**
 * Gives every table the module defines a maximum of `maxEntries` (or keeps a smaller one), so
 * that `table.grow` past it fails inside the guest instead of growing the host (each entry costs
 * the host memory: 10 million entries are hundreds of MiB). A table that starts above the ceiling
 * is refused. Imported tables are left alone: their owner in the component is capped itself.
 */
export function withTableCeiling(module: Uint8Array, maxEntries: number): Uint8Array {
  const sec = sections(module).find((s) => s.id === 4);
  if (!sec) return module;
  const r = new Reader(module, sec.payloadStart, sec.end);
  const count = r.u32();
  const body: number[] = [...uleb(count)];
  for (let i = 0; i < count; i++) {
    const type = r.byte();
    if (type === 0x40) throw new ComponentLoadError('unsupported', 'a table with an initialiser expression is not supported');
    const flags = r.byte();
    if (flags & ~0x01) throw new ComponentLoadError('unsupported', `table with flags 0x${flags.toString(16)} (shared or 64-bit) is not supported`);
    const min = r.u32();
    const max = flags & 1 ? r.u32() : undefined;
    if (min > maxEntries) {
      throw new ComponentLoadError('table-limit', `table ${i} starts with ${min} entries, above the plugin's table ceiling of ${maxEntries} (tableLimit)`);
    }
    body.push(type, 0x01, ...uleb(min), ...uleb(Math.min(max ?? maxEntries, maxEntries)));
  }
  if (r.pos !== sec.end) throw new ComponentLoadError('malformed', 'bytes after the last table');
  return replaceSection(module, sec, body);
}

function replaceSection(module: Uint8Array, sec: Section, body: number[]): Uint8Array {
  const head = [sec.id, ...uleb(body.length)];
  const out = new Uint8Array(sec.start + head.length + body.length + (module.length - sec.end));
  out.set(module.subarray(0, sec.start), 0);
  out.set(head, sec.start);
  out.set(body, sec.start + head.length);
  out.set(module.subarray(sec.end), sec.start + head.length + body.length);
  return out;
}
