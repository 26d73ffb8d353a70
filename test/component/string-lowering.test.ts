/**
 * String lowering writes the same bytes whether or not a String subclass exists in the process
 * (the Redis client defines one; it changes V8's paths for string methods, see
 * docs/performance.md). Each case runs in a child process so that the subclass cannot leak into
 * this one.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const GUEST_MEMORY = fileURLToPath(new URL('../../runtime/component/guest-memory.ts', import.meta.url));

const CASES = [
  '', 'a', 'content-type', 'x'.repeat(300), 'caf\u00e9', '\u00ff\u0080', 'na\u00efve-\u00e9t\u00e9',
  '\u20ac', 'snow \u2603 man', '\u{1f600}', 'a\u{1f600}b', '\ud800', 'x\udc00y', '\udc00\ud800',
  '\u00e9' + 'a'.repeat(40), 'a'.repeat(40) + '\u{1f600}', '\u0000\u007f', 'ab\u20acd',
];

/** Lowers every case in a fresh process after `setup` ran; hex of the bytes the guest would see. */
function lowerInChild(setup: string): string[] {
  const script = `
    const { GuestMemory } = await import(${JSON.stringify(GUEST_MEMORY)});
    ${setup}
    const memory = new WebAssembly.Memory({ initial: 1 });
    let top = 16;
    const gm = new GuestMemory(memory, (oldPtr, oldSize, align, size) => {
      if (oldPtr !== 0 && oldPtr + oldSize === top) { top = oldPtr + size; return oldPtr; }
      const p = top; top += size; return p;
    });
    const cases = JSON.parse(process.argv[1]);
    const out = cases.map((s) => {
      const p = gm.putString(s);
      return Buffer.from(memory.buffer, p, gm.len).toString('hex');
    });
    process.stdout.write(JSON.stringify(out));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(CASES)], { encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

describe('string lowering', () => {
  const expected = CASES.map((s) => Buffer.from(new TextEncoder().encode(s)).toString('hex'));

  it('writes the UTF-8 of ASCII, Latin-1, BMP, astral and lone-surrogate strings (U+FFFD for a lone surrogate)', () => {
    expect(lowerInChild('')).toEqual(expected);
  });

  it('writes the same bytes with a String subclass defined in the process', () => {
    expect(lowerInChild('class VS extends String {} globalThis.keep = new VS("x");')).toEqual(expected);
  });

  // The methods that subclass slows down for every string: lowering must not depend on them.
  it('never reads a string with charCodeAt or codePointAt', () => {
    const poison = 'for (const m of ["charCodeAt", "codePointAt"]) String.prototype[m] = () => { throw new Error(m); };';
    expect(lowerInChild(poison)).toEqual(expected);
  });
});
