/**
 * The `clock` import of praxis:filter@0.2.0: both SDKs on both bindings read the host's wall clock
 * and a monotonic clock; the test kit's clock can be frozen and moved; each read is charged fuel;
 * an 0.1.0 component cannot import it.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '@bytecodealliance/jco';
import { describe, expect, it } from 'vitest';
import { WIT_PATH, componentize } from '../../runtime/build/componentize.ts';
import { ComponentLoadError, GuestTrap } from '../../runtime/component/errors.ts';
import { loadComponent } from '../../runtime/component/loader.ts';
import { loadFilter } from '../../runtime/testing/index.ts';
import { INFO, hostileComponent, hostileWat, quietHost, requestHead } from '../helpers/hostile.ts';
import { fixturePath } from '../helpers/servers.ts';

const GUESTS = [
  ['AssemblyScript (testkit)', fixturePath('testkit'), { kvHeader: 'x-kv' }],
  ['Rust (kv-rust)', fixturePath('kv-rust'), {}],
] as const;
const BINDINGS = ['fast', 'jco'] as const;

/** One run's clock readings: the guest answers `<now-ms>/<monotonic-ms>` per `clock` call. */
function readings(headers: Array<[string, string]>): Array<[number, number]> {
  const result = headers.find(([n]) => n === 'x-kv-result')?.[1];
  expect(result).toBeDefined();
  return result!.split(';').map((r) => {
    const [now, mono] = r.split('/');
    return [Number(now), Number(mono)];
  });
}

describe('clock: both SDKs on both bindings', () => {
  for (const [name, path, config] of GUESTS) {
    for (const binding of BINDINGS) {
      it(`${name} on ${binding}: wall clock within a second of the host's, monotonic never back`, async () => {
        await using filter = await loadFilter(path, { config, load: { binding } });
        expect(filter.binding).toBe(binding);
        const seen: Array<[number, number]> = [];
        for (let i = 0; i < 3; i++) {
          const before = Date.now();
          const r = await filter.run({ request: { headers: { 'x-kv': 'clock;clock' } } });
          const after = Date.now();
          for (const [now, mono] of readings(r.request.headers)) {
            expect(Number.isSafeInteger(now)).toBe(true);
            expect(now).toBeGreaterThanOrEqual(before - 1000);
            expect(now).toBeLessThanOrEqual(after + 1000);
            expect(Number.isSafeInteger(mono)).toBe(true);
            seen.push([now, mono]);
          }
          await new Promise((res) => setTimeout(res, 20));
        }
        for (let i = 1; i < seen.length; i++) expect(seen[i]![1]).toBeGreaterThanOrEqual(seen[i - 1]![1]);
        // 40 ms of waits passed between the first and last reads: the monotonic clock moved.
        expect(seen.at(-1)![1]).toBeGreaterThan(seen[0]![1]);
      });
    }
  }
});

describe('clock: the test kit moves time', () => {
  for (const [name, path, config] of GUESTS) {
    for (const binding of BINDINGS) {
      it(`${name} on ${binding}: frozen at clock.nowMs, moved by advance and set`, async () => {
        await using filter = await loadFilter(path, { config, load: { binding }, clock: { nowMs: 1_700_000_000_000 } });
        const run = async () => readings((await filter.run({ request: { headers: { 'x-kv': 'clock' } } })).request.headers)[0];
        expect(await run()).toEqual([1_700_000_000_000, 0]);
        expect(await run()).toEqual([1_700_000_000_000, 0]);
        filter.clock.advance(60_000);
        expect(await run()).toEqual([1_700_000_060_000, 60_000]);
        filter.clock.set(1_600_000_000_000); // the wall clock may be stepped back; the monotonic one is not
        expect(await run()).toEqual([1_600_000_000_000, 60_000]);
      });
    }
  }

  it('a bad clock option or step is refused with the option named, before anything loads', async () => {
    await expect(loadFilter(fixturePath('testkit'), { clock: { nowMs: -1 } })).rejects.toThrow(/clock\.nowMs/);
    await using filter = await loadFilter(fixturePath('testkit'), { clock: { nowMs: 5 } });
    expect(() => filter.clock.advance(-1)).toThrow(/clock\.advance/);
    expect(filter.clock.nowMs()).toBe(5);
  });
});

const CLOCK_IMPORT = '(import "praxis:filter/clock@0.2.0" "now-ms" (func $now (result i64)))';
/** A 0.2.0 filter whose request hook reads the clock `n` times. */
function clockReader(n: number): Promise<Uint8Array> {
  return hostileComponent({
    version: '0.2.0',
    imports: CLOCK_IMPORT,
    extra: '(global $i (mut i32) (i32.const 0))',
    requestHeaders: `(global.set $i (i32.const 0))
      (loop $l
        (drop (call $now))
        (global.set $i (i32.add (global.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (global.get $i) (i32.const ${n}))))`,
  });
}

describe('clock: each read is charged fuel', () => {
  for (const binding of BINDINGS) {
    it(`${binding}: 2,000 reads spend a 1M-unit budget that their instructions alone fit in`, async () => {
      const host = quietHost();
      const run = async (n: number) => {
        const loaded = await loadComponent(await clockReader(n), { binding, maxLoopIterations: 1_000_000 });
        const inst = await loaded.factory.instantiate();
        expect((await inst.configure(host, '{}')).ok).toBe(true);
        return inst.onRequestHeaders(host, INFO, requestHead());
      };
      expect(await run(10)).toEqual({ tag: 'continue' });
      // About 10 instructions per iteration: 20,000 units uncharged, 4M+ with the charge.
      const err = await run(2_000).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(GuestTrap);
      expect((err as GuestTrap).kind).toBe('cpu-budget');
    });
  }
});

describe('clock: world versions', () => {
  it('an 0.1.0 filter importing clock (an interface 0.1.0 does not have) is refused', async () => {
    const wat = hostileWat({ version: '0.1.0', imports: '(import "praxis:filter/clock@0.1.0" "now-ms" (func $now (result i64)))', requestHeaders: '(drop (call $now))' });
    // The current WIT under the 0.1.0 package name: a component that claims 0.1.0 has a clock.
    const wit = (await readFile(WIT_PATH, 'utf8')).replace(/^package praxis:filter@[^;]+;/m, 'package praxis:filter@0.1.0;');
    const witPath = join(await mkdtemp(join(tmpdir(), 'praxis-wit-')), 'praxis.wit');
    await writeFile(witPath, wit);
    const bytes = await componentize(await parse(wat), witPath);
    const err = await loadComponent(bytes).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ComponentLoadError);
    expect((err as ComponentLoadError).code).toBe('forbidden-import');
    expect((err as ComponentLoadError).message).toContain('praxis:filter/clock@0.1.0');
  });
});
