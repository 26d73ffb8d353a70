/**
 * Fuel that cannot be dodged: every way a guest can run code again (a loop, a direct, indirect or
 * tail call, recursion) and every phase it can run in (start function, `_initialize`, hooks) is
 * metered, and a spent budget is its own kind of failure. The workloads are finite but long
 * (seconds of CPU without fuel), so a missing check shows as a wrong answer, not a hung run.
 */
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { calibrate } from '../../runtime/component/cpu-budget.ts';
import { GuestTrap } from '../../runtime/component/errors.ts';
import { FastComponentFactory } from '../../runtime/component/fast-binding.ts';
import { withLoopFuel } from '../../runtime/component/fuel.ts';
import { type LoadOptions, loadComponent } from '../../runtime/component/loader.ts';
import type { FilterInstance } from '../../runtime/component/types.ts';
import { type HostileParts, hostileComponent, hostileCore, INFO, quietHost, requestHead } from '../helpers/hostile.ts';
import { startEchoUpstream, startTestGateway } from '../helpers/servers.ts';
import { oneRoute, testkit } from '../gateway/helpers.ts';

const host = quietHost();
const info = INFO;
const head = requestHead();
/** A budget far below what the workloads need: they must be stopped, whatever the machine. */
const SMALL: LoadOptions = { maxLoopIterations: 1_000_000 };

async function instance(parts: HostileParts, opts: LoadOptions = SMALL): Promise<FilterInstance> {
  const loaded = await loadComponent(await hostileComponent(parts), opts);
  expect(loaded.factory.binding).toBe('fast');
  const inst = await loaded.factory.instantiate();
  expect(await inst.configure(host, '{}')).toMatchObject({ ok: true });
  return inst;
}

async function trapOf(call: Promise<unknown>): Promise<GuestTrap> {
  const err = await call.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(GuestTrap);
  return err as GuestTrap;
}

const DOWN = `(func $down (param $n i32)
  (if (local.get $n) (then (return_call $down (i32.sub (local.get $n) (i32.const 1))))))`;
const PING = `(type $t (func (param i32)))
(table $fns 1 funcref) (elem (table $fns) (i32.const 0) func $ping)
(func $ping (param $n i32)
  (if (local.get $n) (then (return_call_indirect $fns (type $t) (i32.sub (local.get $n) (i32.const 1)) (i32.const 0)))))`;
/** Binary recursion with no loop: the call shape of a backtracking matcher. */
const FIB = `(func $fib (param $n i32) (result i32)
  (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
    (then (local.get $n))
    (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))`;
const COUNT = (n: number) => `(local $i i32)
  (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.ne (local.get $i) (i32.const ${n}))))`;

describe('fuel at function entries', () => {
  it.each([
    ['a return_call self-loop', { extra: DOWN, requestHeaders: '(call $down (i32.const 0x7fffffff))' }],
    ['a return_call_indirect chain', { extra: PING, requestHeaders: '(call $ping (i32.const 0x7fffffff))' }],
    ['binary recursion (no loop at all)', { extra: FIB, requestHeaders: '(drop (call $fib (i32.const 40)))' }],
  ] as Array<[string, HostileParts]>)('stops %s as a spent CPU budget', async (_name, parts) => {
    const inst = await instance(parts);
    const trap = await trapOf(inst.onRequestHeaders(host, info, head));
    expect(trap.kind).toBe('cpu-budget');
    expect(trap.message).toMatch(/on-request-headers ran past its CPU budget \(1000000 fuel units\)/);
  });

  it('keeps deep recursion a clean trap (stack overflow), and a fresh instance serves on', async () => {
    const parts = {
      extra: '(func $deep (param i32) (result i32) (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))',
      requestHeaders: '(drop (call $deep (i32.const 0)))',
    };
    const loaded = await loadComponent(await hostileComponent(parts), { maxLoopIterations: 2_000_000_000 });
    const inst = await loaded.factory.instantiate();
    await inst.configure(host, '{}');
    const trap = await trapOf(inst.onRequestHeaders(host, info, head));
    expect(trap.kind).toBe('trap');
    expect(trap.message).toMatch(/call stack/i);
    const fresh = await loaded.factory.instantiate();
    expect(await fresh.configure(host, '{}')).toMatchObject({ ok: true });
  });
});

describe('bulk instructions pay for their length', () => {
  it('stops a loop of memory.fill that costs little per instruction but a lot per byte', async () => {
    // 10,000 fills of 64 KiB: about 80,000 instructions, but 640 MB written.
    const fill = `(func $fill (local $i i32)
      (loop $l
        (memory.fill (i32.const 0) (local.get $i) (i32.const 65536))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.ne (local.get $i) (i32.const 10000)))))`;
    const inst = await instance({ extra: fill, requestHeaders: '(call $fill)' });
    expect((await trapOf(inst.onRequestHeaders(host, info, head))).kind).toBe('cpu-budget');
  });
});

describe('fuel in code the decoder once could not read', () => {
  it('meters a loop of SIMD instructions', async () => {
    const spin = `(func $spin (local $i i32)
      (loop $l
        (v128.store (i32.const 0) (i32x4.add (v128.load (i32.const 0)) (v128.const i32x4 1 1 1 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.ne (local.get $i) (i32.const 0x7fffffff)))))`;
    const inst = await instance({ extra: spin, requestHeaders: '(call $spin)' });
    expect((await trapOf(inst.onRequestHeaders(host, info, head))).kind).toBe('cpu-budget');
  });

  it('meters a loop that throws and catches (exception handling)', async () => {
    const spin = `(tag $e (param i32))
      (func $spin (local $i i32)
        (loop $l
          (drop (block $caught (result i32) (try_table (catch $e $caught) (throw $e (local.get $i))) (i32.const 0)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.ne (local.get $i) (i32.const 20000000)))))`;
    const inst = await instance({ extra: spin, requestHeaders: '(call $spin)' });
    expect((await trapOf(inst.onRequestHeaders(host, info, head))).kind).toBe('cpu-budget');
  });
});

describe('start-up runs on a budget too', () => {
  it('stops a start function that would run long (it runs inside instantiate)', async () => {
    const loaded = await loadComponent(await hostileComponent({ extra: `(func $start ${COUNT(100_000_000)}) (start $start)` }), SMALL);
    await expect(loaded.factory.instantiate()).rejects.toThrow();
  });

  it('stops an _initialize that would run long, as a spent CPU budget, on either binding', async () => {
    const parts = { extra: `(func (export "_initialize") ${COUNT(100_000_000)})` };
    // wit-component wraps an _initialize in a module of its own (the jco path takes such a
    // component); the fast binding calls it when a guest module exports it directly. A generous
    // start budget here: what bounds _initialize is the hook budget the host sets before it.
    const fuel = withLoopFuel(await hostileCore(parts), { startFuel: 2_000_000_000 });
    expect(fuel.instrumented).toBe(true);
    const fast = new FastComponentFactory(await WebAssembly.compile(fuel.module as BufferSource), [false, false, false, false, false], { fuelBudget: 1_000_000 });
    const trap = await trapOf(fast.instantiate());
    expect(trap.kind).toBe('cpu-budget');
    expect(trap.message).toMatch(/^_initialize ran past its CPU budget \(1000000 fuel units\)/);
    const loaded = await loadComponent(await hostileComponent(parts), SMALL);
    expect((await trapOf(loaded.factory.instantiate())).kind).toBe('cpu-budget');
  });
});

describe('a CPU budget in milliseconds', () => {
  it('calibrates once per process: a conservative figure below the measured rate', async () => {
    const c = await calibrate();
    expect(c.fuelPerMs).toBeGreaterThan(1000);
    expect(c.fuelPerMs).toBeLessThan(c.measuredFuelPerMs);
    expect(await calibrate()).toBe(c);
  });

  it('stops a hook spinning forever after about its budget, naming it', async () => {
    const inst = await instance({ requestHeaders: '(loop $l (br $l))' }, { cpuBudgetMs: 20 });
    const started = performance.now();
    const trap = await trapOf(inst.onRequestHeaders(host, info, head));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(trap.kind).toBe('cpu-budget');
    expect(trap.message).toMatch(/ran past its CPU budget \(20 ms, \d+ fuel units\)/);
  });

  it('is what plugins.<name>.cpuBudgetMs sets in the gateway, and the gateway serves on', async () => {
    const echo = await startEchoUpstream();
    const gw = await startTestGateway(oneRoute({ spin: testkit({ name: 'spin', spinIfHeader: 'x-spin' }, { cpuBudgetMs: 20 }) }, ['spin'], { main: echo.url }));
    try {
      const res = await request(`${gw.url}/spin`, { headers: { 'x-spin': '1', 'x-request-id': 'cpu-1' } });
      expect(res.statusCode).toBe(500);
      await res.body.text();
      expect(gw.logs.some((l) => l.requestId === 'cpu-1' && /ran past its CPU budget \(20 ms, \d+ fuel units\)/.test(String(l.msg)))).toBe(true);
      const next = await request(`${gw.url}/after`);
      expect(next.statusCode).toBe(200);
      await next.body.text();
    } finally {
      await gw.close();
      await echo.close();
    }
  });
});

describe('what ended a call', () => {
  it("says 'memory' when the guest trapped with its memory at the ceiling", async () => {
    const grow = '(block $full (loop $l (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $l))) unreachable';
    const inst = await instance({ requestHeaders: grow }, { memoryLimitBytes: 1024 * 1024 });
    const trap = await trapOf(inst.onRequestHeaders(host, info, head));
    expect(trap.kind).toBe('memory');
    expect(trap.message).toMatch(/at the ceiling of 1048576 bytes/);
  });

  it("says 'trap' for any other trap", async () => {
    const inst = await instance({ requestHeaders: 'unreachable' });
    expect((await trapOf(inst.onRequestHeaders(host, info, head))).kind).toBe('trap');
  });
});
