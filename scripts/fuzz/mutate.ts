/**
 * Seeded mutations of built filter components. A case is a pure function of (seed, index): the
 * same pair always yields the same bytes, so a failing case is replayed from two numbers.
 * Mutations apply to the whole component or to its guest core module (spliced back in place,
 * or re-wrapped with componentize like an SDK build).
 */
import { componentize } from '../../runtime/build/componentize.ts';
import { CORE_VECTOR_SECTIONS, type RawSection, codeBodies, join, replaceLeb, split, withLocalsCount } from './wasm-edit.ts';

/** splitmix32: small, fast, and good enough to spread cases. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
}

export interface Rng {
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

function rngOf(seed: number, index: number): Rng {
  const next = prng(Math.imul(seed >>> 0, 0x27d4eb2d) ^ Math.imul(index + 1, 0x165667b1));
  return {
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
    chance: (p) => next() < p,
  };
}

/** Sizes that make a trusting reader allocate or skip gigabytes. */
const HUGE = [0x3fffffff, 0xffffffff, 0x7fffffff, 0x10000000] as const;
const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x0b, 0x40] as const;

export interface Mutant {
  /** What was done, precisely enough to read without replaying. */
  what: string;
  bytes: Uint8Array;
}

/** componentize (the SDK build step) refused the mutated core: no component to load. */
export class RewrapRefused extends Error {
  readonly target: string;
  readonly what: string;
  constructor(target: string, what: string, cause: unknown) {
    super(`componentize refused the mutant: ${String((cause as Error)?.message ?? cause).split('\n')[0]}`, { cause });
    this.name = 'RewrapRefused';
    this.target = target;
    this.what = what;
  }
}

type Edit = (bytes: Uint8Array, rng: Rng) => Mutant | undefined;

function sizeValue(rng: Rng, actual: number): { value: number; label: string } {
  const v = rng.chance(0.7) ? rng.pick(HUGE) : Math.max(0, actual + rng.pick([1, -1, 1000]));
  return { value: v >>> 0, label: `0x${(v >>> 0).toString(16)} (was ${actual})` };
}

const byteEdits: Record<string, Edit> = {
  'bit-flip': (b, rng) => {
    const out = b.slice();
    const at: number[] = [];
    for (let n = 1 + rng.int(8); n > 0; n--) {
      const i = 8 + rng.int(out.length - 8);
      out[i]! ^= 1 << rng.int(8);
      at.push(i);
    }
    return { what: `bit-flip at ${at.join(',')}`, bytes: out };
  },
  'byte-set': (b, rng) => {
    const out = b.slice();
    const at: string[] = [];
    for (let n = 1 + rng.int(4); n > 0; n--) {
      const i = 8 + rng.int(out.length - 8);
      out[i] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
      at.push(`${i}=0x${out[i]!.toString(16)}`);
    }
    return { what: `byte-set ${at.join(',')}`, bytes: out };
  },
  truncate: (b, rng) => {
    const at = rng.chance(0.2) ? rng.int(16) : rng.int(b.length);
    return { what: `truncate to ${at} of ${b.length}`, bytes: b.slice(0, at) };
  },
};

const sectionEdits: Record<string, (s: RawSection[], rng: Rng) => { what: string; sections: RawSection[] } | undefined> = {
  'section-swap': (s, rng) => {
    if (s.length < 2) return undefined;
    const i = rng.int(s.length - 1);
    const out = s.slice();
    [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
    return { what: `section-swap #${i} (id ${s[i]!.id}) <-> #${i + 1} (id ${s[i + 1]!.id})`, sections: out };
  },
  'section-delete': (s, rng) => {
    const i = rng.int(s.length);
    return { what: `section-delete #${i} (id ${s[i]!.id})`, sections: s.filter((_, k) => k !== i) };
  },
  'section-dup': (s, rng) => {
    const i = rng.int(s.length);
    return { what: `section-dup #${i} (id ${s[i]!.id})`, sections: [...s.slice(0, i + 1), s[i]!, ...s.slice(i + 1)] };
  },
  'section-size': (s, rng) => {
    const i = rng.int(s.length);
    const v = sizeValue(rng, s[i]!.payload.length);
    const out = s.slice();
    out[i] = { ...s[i]!, claimedSize: v.value };
    return { what: `section-size #${i} (id ${s[i]!.id}) := ${v.label}`, sections: out };
  },
};

/** Random bytes of one section's payload set, the section's size untouched. */
function setBytesIn(s: RawSection[], rng: Rng, pickable: (x: RawSection) => boolean, label: string): { what: string; sections: RawSection[] } | undefined {
  const candidates = s.map((_, i) => i).filter((i) => pickable(s[i]!) && s[i]!.payload.length > 8);
  if (!candidates.length) return undefined;
  const i = rng.pick(candidates);
  const payload = s[i]!.payload.slice();
  const at: string[] = [];
  for (let n = 1 + rng.int(4); n > 0; n--) {
    const k = 4 + rng.int(payload.length - 4);
    payload[k] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
    at.push(`${k}=0x${payload[k]!.toString(16)}`);
  }
  const out = s.slice();
  out[i] = { id: s[i]!.id, payload };
  return { what: `${label} in section #${i} (id ${s[i]!.id}): ${at.join(',')}`, sections: out };
}

/** Edits of a component's own sections (types, imports, canon, aliases, exports), never its core modules. */
const componentEdits: Record<string, (s: RawSection[], rng: Rng) => { what: string; sections: RawSection[] } | undefined> = {
  'meta-bytes': (s, rng) => setBytesIn(s, rng, (x) => x.id !== 1, 'meta-bytes'),
};

/** Edits inside a core module's sections, each keeping every enclosing size honest. */
const coreEdits: Record<string, (s: RawSection[], rng: Rng) => { what: string; sections: RawSection[] } | undefined> = {
  // Data segments are free bytes to the validator: the module still loads and the guest runs on bad data.
  'data-bytes': (s, rng) => setBytesIn(s, rng, (x) => x.id === 11, 'data-bytes'),
  'body-size': (s, rng) => {
    const ci = s.findIndex((x) => x.id === 10);
    if (ci < 0) return undefined;
    const bodies = codeBodies(s[ci]!.payload);
    if (!bodies.length) return undefined;
    const f = rng.int(bodies.length);
    const v = sizeValue(rng, bodies[f]!.end - bodies[f]!.bodyAt);
    const out = s.slice();
    out[ci] = { id: 10, payload: replaceLeb(s[ci]!.payload, bodies[f]!.sizeAt, v.value) };
    return { what: `body-size fn #${f} := ${v.label}`, sections: out };
  },
  'vector-count': (s, rng) => {
    const candidates = s.map((x, i) => i).filter((i) => CORE_VECTOR_SECTIONS.has(s[i]!.id) && s[i]!.payload.length > 0);
    if (!candidates.length) return undefined;
    const i = rng.pick(candidates);
    const v = rng.chance(0.7) ? rng.pick(HUGE) : rng.pick([0, 1, 1000]);
    const out = s.slice();
    out[i] = { id: s[i]!.id, payload: replaceLeb(s[i]!.payload, 0, v) };
    return { what: `vector-count of section id ${s[i]!.id} := 0x${v.toString(16)}`, sections: out };
  },
  'locals-count': (s, rng) => {
    const ci = s.findIndex((x) => x.id === 10);
    if (ci < 0) return undefined;
    const bodies = codeBodies(s[ci]!.payload);
    const f = rng.int(bodies.length);
    const v = rng.pick([...HUGE, 50_001]);
    const payload = bodies.length ? withLocalsCount(s[ci]!.payload, bodies[f]!, v) : undefined;
    if (!payload) return undefined;
    const out = s.slice();
    out[ci] = { id: 10, payload };
    return { what: `locals-count fn #${f} := 0x${v.toString(16)}`, sections: out };
  },
};

/** One edit of `bytes` (a component or a core module), chosen by `rng`. */
function mutateBinary(bytes: Uint8Array, rng: Rng, core: boolean): Mutant {
  const structural = core ? coreEdits : componentEdits;
  // Data edits keep the module valid, so they are what reaches configure and the hook: weighted up.
  const kinds = [...Object.keys(byteEdits), ...Object.keys(sectionEdits), ...Object.keys(structural), ...(core ? ['data-bytes', 'data-bytes'] : [])];
  for (let attempt = 0; attempt < 8; attempt++) {
    const kind = rng.pick(kinds);
    const byte = byteEdits[kind];
    if (byte) {
      const m = byte(bytes, rng);
      if (m) return m;
      continue;
    }
    const { preamble, sections } = split(bytes);
    const edit = (sectionEdits[kind] ?? structural[kind])!(sections, rng);
    if (edit) return { what: edit.what, bytes: join(preamble, edit.sections) };
  }
  return byteEdits['bit-flip']!(bytes, rng)!;
}

/** The case `index` of run `seed` over `targets` (the original bytes of each). */
export async function mutantOf(seed: number, index: number, targets: ReadonlyArray<{ label: string; bytes: Uint8Array }>): Promise<Mutant & { target: string }> {
  const rng = rngOf(seed, index);
  const target = rng.pick(targets);
  if (rng.chance(0.4)) {
    const m = mutateBinary(target.bytes, rng, false);
    return { target: target.label, what: `component ${m.what}`, bytes: m.bytes };
  }
  const { preamble, sections } = split(target.bytes);
  // The guest's own module is the largest core module (wit-component's shims are tiny).
  let at = -1;
  sections.forEach((s, i) => { if (s.id === 1 && (at < 0 || s.payload.length > sections[at]!.payload.length)) at = i; });
  const m = mutateBinary(sections[at]!.payload, rng, true);
  if (rng.chance(0.25)) {
    const what = `core ${m.what}, re-wrapped`;
    try {
      return { target: target.label, what, bytes: await componentize(m.bytes) };
    } catch (err) {
      throw new RewrapRefused(target.label, what, err);
    }
  }
  const out = sections.slice();
  out[at] = { id: 1, payload: m.bytes };
  return { target: target.label, what: `core ${m.what}, spliced`, bytes: join(preamble, out) };
}
