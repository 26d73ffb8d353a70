/**
 * The call-graph walk that decides which hooks may suspend: hand-written modules for each rule
 * (and each way it must give up), then the real built components.
 */
import { readFileSync } from 'node:fs';
import { parse } from '@bytecodealliance/jco';
import { describe, expect, it } from 'vitest';
import { suspendingHooks } from '../../runtime/component/fast-binding.ts';
import { FILTER_EXPORT } from '../../runtime/component/loader.ts';
import { exportsReaching, importedFunctionIndices, type Reachability } from '../../runtime/component/reachability.ts';
import { coreExports, coreImports, coreModulesOfComponent } from '../../runtime/component/wasm-binary.ts';
import { fixturePath, pluginPath } from '../helpers/servers.ts';

/** A module importing `host.sus` (function 0) and `host.plain` (function 1); the target is `sus`. */
async function reach(body: string, head = ''): Promise<Reachability> {
  const wat = `(module
    (type $v (func))
    (import "host" "sus" (func $sus))
    (import "host" "plain" (func $plain))
    ${head}
    ${body})`;
  return exportsReaching(await parse(wat), new Set([0]));
}

const obj = (r: Reachability): Record<string, boolean> => Object.fromEntries(r.mayReach);

describe('exportsReaching on hand-written modules', () => {
  it('follows direct call chains, return_call included', async () => {
    const r = await reach(`
      (func $c (call $sus))
      (func $b (call $c))
      (func $tail (return_call $b))
      (func $pure (call $plain))
      (func (export "a") (call $b))
      (func (export "t") (return_call $tail))
      (func (export "d") (call $pure))
      (func (export "e") (nop))`);
    expect(r.gaveUp).toBeUndefined();
    expect(obj(r)).toEqual({ a: true, t: true, d: false, e: false });
  });

  it('an indirect call reaches what the table holds, and only that', async () => {
    const mod = (entry: string) => reach(`
      (table 2 funcref)
      (elem (i32.const 0) ${entry})
      (func $reaching (call $sus))
      (func $pure (call $plain))
      (func (export "x") (call_indirect (type $v) (i32.const 0)))
      (func (export "y") (return_call_indirect (type $v) (i32.const 0)))
      (func (export "z") (call $pure))`);
    expect(obj(await mod('$reaching'))).toEqual({ x: true, y: true, z: false });
    expect(obj(await mod('$pure'))).toEqual({ x: false, y: false, z: false });
    expect(obj(await mod('$sus'))).toEqual({ x: true, y: true, z: false }); // the import itself in the table
  });

  it('an exported function is not an indirect target while the table stays private', async () => {
    const r = await reach(`
      (table 1 funcref)
      (elem (i32.const 0) $pure)
      (func $pure (nop))
      (func (export "calls-out") (call $sus))
      (func (export "dispatch") (call_indirect (type $v) (i32.const 0)))`);
    expect(obj(r)).toEqual({ 'calls-out': true, dispatch: false });
  });

  it('counts ref.func in code, in a global initialiser, and passive and declarative segments', async () => {
    const dispatch = `(table 1 funcref) (func $reaching (call $sus)) (func (export "x") (call_indirect (type $v) (i32.const 0)))`;
    const inCode = await reach(`${dispatch} (elem declare func $reaching)
      (func (export "install") (table.set (i32.const 0) (ref.func $reaching)))`);
    expect(obj(inCode)).toEqual({ x: true, install: false });
    const inGlobal = await reach(`${dispatch} (global funcref (ref.func $reaching))`);
    expect(obj(inGlobal)).toEqual({ x: true });
    const passive = await reach(`${dispatch} (elem func $reaching)
      (func (export "init") (table.init 0 (i32.const 0) (i32.const 0) (i32.const 1)))`);
    expect(obj(passive)).toEqual({ x: true, init: false });
    const passiveExprs = await reach(`${dispatch} (elem funcref (ref.func $reaching))`);
    expect(obj(passiveExprs)).toEqual({ x: true });
    const none = await reach(`${dispatch} (elem declare func $other) (func $other)`);
    expect(obj(none)).toEqual({ x: false });
  });

  it('decodes multi-value blocks, select t, bulk memory, sign extension and saturating truncation', async () => {
    const r = await reach(`
      (memory 1)
      (data "abc")
      (type $pair (func (result i32 i32)))
      (func (export "busy") (result i32)
        (block $out (type $pair) (i32.const 1) (i32.const 2))
        drop drop
        (loop $l (br_if $l (i32.const 0)))
        (block (block (br_table 0 1 0 (i32.const 1))))
        (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 3))
        (data.drop 0)
        (memory.copy (i32.const 0) (i32.const 1) (i32.const 1))
        (memory.fill (i32.const 0) (i32.const 0) (i32.const 1))
        (drop (i64.extend32_s (i64.const -5)))
        (drop (i32.trunc_sat_f64_s (f64.const 1.5)))
        (drop (f32.const 2))
        (drop (select (result i32) (i32.const 1) (i32.const 2) (i32.const 0)))
        (drop (memory.grow (i32.const 0)))
        (drop (i32.load8_u offset=7 (i32.const 0)))
        (if (result i32) (i32.const 1) (then (i32.const 1)) (else (call $sus) (i32.const 2))))`);
    expect(r.gaveUp).toBeUndefined();
    expect(obj(r)).toEqual({ busy: true });
  });

  it('ignores the start function', async () => {
    const r = await reach(`(func $init (call $sus)) (start $init) (func (export "x") (nop))`);
    expect(obj(r)).toEqual({ x: false });
  });

  it('gives up on an opcode it does not know (GC), even in a function no export reaches', async () => {
    const r = await reach(`
      (func $unused (drop (ref.i31 (i32.const 0))))
      (func (export "x") (nop))
      (func (export "y") (call $plain))`);
    expect(r.gaveUp).toMatch(/opcode 0xfb/);
    expect(obj(r)).toEqual({ x: true, y: true });
  });

  it('gives up on bytes it cannot read', async () => {
    const good = await parse('(module (import "host" "sus" (func)) (func (export "x") (nop)))');
    const broken = good.slice();
    broken[broken.length - 2] = 0xfb; // the body's nop becomes a GC prefix
    const r = exportsReaching(broken, new Set([0]));
    expect(r.gaveUp).toBeDefined();
    expect(obj(r)).toEqual({ x: true });
  });

  it('treats every function as an indirect target when a table or funcref crosses the boundary', async () => {
    const body = `(func $pure (nop)) (elem (i32.const 0) $pure)
      (func (export "x") (call_indirect (type $v) (i32.const 0)))
      (func (export "y") (nop))`;
    expect(obj(await reach(`(table (export "t") 1 funcref) ${body}`))).toEqual({ x: true, y: false });
    expect(obj(await reach(body, '(import "host" "t" (table 1 funcref))'))).toEqual({ x: true, y: false });
    expect(obj(await reach(`(table 1 funcref) ${body}
      (func (export "take") (param funcref) (table.set (i32.const 0) (local.get 0)))`))).toEqual({ x: true, y: false, take: false });
    expect(obj(await reach(`(table 1 funcref) ${body} (global (export "g") (mut funcref) (ref.null func))`))).toEqual({ x: true, y: false });
    expect(obj(await reach(`(table 1 funcref) ${body}`))).toEqual({ x: false, y: false });
  });

  it('numbers imported functions across other import kinds', () => {
    const idx = importedFunctionIndices(
      [{ module: 'a', kind: 0 }, { module: 'mem', kind: 2 }, { module: 'http', kind: 0 }, { module: 'a', kind: 0 }, { module: 'http', kind: 0 }],
      'http',
    );
    expect([...idx]).toEqual([1, 3]);
  });
});

const FILTER = FILTER_EXPORT;
const HOOKS = ['configure', 'on-request-headers', 'on-request-body', 'on-response-headers', 'on-response-body'];

function hooksOf(path: string): { hooks: Record<string, boolean>; gaveUp: string | undefined; perHook: boolean[] } {
  const core = coreModulesOfComponent(new Uint8Array(readFileSync(path))).find((m) => coreExports(m).some((e) => e.name === `${FILTER}#configure`))!;
  const imports = coreImports(core);
  const r = exportsReaching(core, importedFunctionIndices(imports, 'praxis:filter/http-client@0.2.0'));
  return {
    hooks: Object.fromEntries(HOOKS.map((h) => [h, r.mayReach.get(`${FILTER}#${h}`)!])),
    gaveUp: r.gaveUp,
    perHook: suspendingHooks(core, imports),
  };
}

describe('exportsReaching on the built components', () => {
  it('guardrail (AssemblyScript): only on-request-body calls the scanner', () => {
    const r = hooksOf(pluginPath('guardrail'));
    expect(r.gaveUp).toBeUndefined();
    expect(r.hooks).toEqual({ configure: false, 'on-request-headers': false, 'on-request-body': true, 'on-response-headers': false, 'on-response-body': false });
    expect(r.perHook).toEqual([false, false, true, false, false]);
  });

  it('semantic-cache: the body hooks (lookup, store) may reach http, the header hooks not', () => {
    const r = hooksOf(pluginPath('semantic-cache'));
    expect(r.gaveUp).toBeUndefined();
    expect(r.hooks).toEqual({ configure: false, 'on-request-headers': false, 'on-request-body': true, 'on-response-headers': false, 'on-response-body': true });
  });

  it('testkit: its sub-requests are made from on-request-headers', () => {
    const r = hooksOf(fixturePath('testkit'));
    expect(r.gaveUp).toBeUndefined();
    expect(r.hooks['on-request-headers']).toBe(true);
    expect(r.hooks.configure).toBe(false);
  });

  it('pd-disagg (Rust): on-request-body reaches; the module has no indirect call left after optimisation', () => {
    const r = hooksOf(pluginPath('pd-disagg'));
    expect(r.gaveUp).toBeUndefined();
    expect(r.hooks['on-request-body']).toBe(true);
    expect(r.hooks['on-request-headers']).toBe(false);
    expect(r.hooks.configure).toBe(false);
  });

  it('a module with no http import suspends nowhere', () => {
    expect(hooksOf(pluginPath('header-router')).perHook).toEqual([false, false, false, false, false]);
  });
});
