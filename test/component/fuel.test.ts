/** Fuel: the rewritten module counts instructions at function entries and loop heads, and traps past its budget. */
import { readFileSync } from 'node:fs';
import { parse } from '@bytecodealliance/jco';
import { describe, expect, it } from 'vitest';
import { FUEL_EXPORT, withLoopFuel } from '../../runtime/component/fuel.ts';
import { coreModulesOfComponent, coreExports } from '../../runtime/component/wasm-binary.ts';
import { fixturePath, pluginPath } from '../helpers/servers.ts';

const LOOPER = `(module
  (global $g (mut i32) (i32.const 0))
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top)))
    (local.get $i))
  (func (export "nested") (result i32) (local $i i32) (local $j i32)
    (loop $a
      (local.set $j (i32.const 0))
      (loop $b (local.set $j (i32.add (local.get $j) (i32.const 1))) (br_if $b (i32.lt_u (local.get $j) (i32.const 10))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $a (i32.lt_u (local.get $i) (i32.const 10))))
    (i32.add (local.get $i) (local.get $j))))`;

async function instantiate(bytes: Uint8Array): Promise<Record<string, unknown>> {
  const { instance } = await WebAssembly.instantiate(bytes as BufferSource);
  return instance.exports as Record<string, unknown>;
}

describe('withLoopFuel', () => {
  it('leaves results alone within budget and traps past it', async () => {
    const r = withLoopFuel(await parse(LOOPER));
    expect(r.instrumented).toBe(true);
    if (!r.instrumented) return;
    expect(r.loops).toBe(3);
    expect(r.functions).toBe(2);
    const ex = await instantiate(r.module);
    const fuel = ex[FUEL_EXPORT] as WebAssembly.Global;
    const count = ex.count as (n: number) => number;
    const nested = ex.nested as () => number;
    const spent = (f: () => number, expected: number): number => {
      fuel.value = 100_000;
      expect(f()).toBe(expected);
      return 100_000 - (fuel.value as number);
    };
    // count's entry region: block, loop, end, local.get, end; its loop: 10 instructions per pass.
    expect(spent(() => count(500), 500)).toBe(5 + 501 * 10);
    // nested: entry 5; the outer loop's own body 12 (the inner loop's excluded), 10 passes; the inner 9, 100 passes.
    expect(spent(nested, 20)).toBe(5 + 10 * 12 + 100 * 9);
    fuel.value = 100;
    expect(() => count(1000)).toThrow(WebAssembly.RuntimeError);
    expect(fuel.value as number).toBeLessThan(0);
  });

  it('adds a global section and an export to a module that has neither', async () => {
    const r = withLoopFuel(await parse('(module (func $f (loop $l (br $l))) (start $f))'));
    expect(r.instrumented).toBe(true);
    // The start function loops forever; the global starts at the start budget, so it ends, in a trap.
    await expect(WebAssembly.instantiate(r.module as BufferSource)).rejects.toThrow(WebAssembly.RuntimeError);
  });

  it('leaves a module it cannot decode (GC) as it is, saying why', async () => {
    const bytes = await parse('(module (func (export "v") (result i32) (i31.get_s (ref.i31 (i32.const 7)))))');
    const r = withLoopFuel(bytes);
    expect(r.instrumented).toBe(false);
    if (r.instrumented) return;
    expect(r.module).toBe(bytes);
    expect(r.why).toMatch(/0xfb/);
  });

  it('instruments every SDK-built plugin', () => {
    for (const path of [fixturePath('testkit'), pluginPath('header-router'), pluginPath('header-router-rust'), pluginPath('pd-disagg'), pluginPath('guardrail')]) {
      const cores = coreModulesOfComponent(new Uint8Array(readFileSync(path)));
      const guest = cores.find((m) => coreExports(m).some((e) => e.name === 'cabi_realloc'))!;
      const r = withLoopFuel(guest);
      expect(r.instrumented, path).toBe(true);
      expect(new WebAssembly.Module(r.module as BufferSource)).toBeInstanceOf(WebAssembly.Module);
      expect(coreExports(r.module).map((e) => e.name)).toContain(FUEL_EXPORT);
    }
  });
});
