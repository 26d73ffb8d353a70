/**
 * A hostile guest at the keyvalue boundary: out-of-range pointers and lengths, invalid UTF-8 in a
 * key, a bad option tag, a return area out of bounds or misaligned, and a loop of large values
 * past the call's lift budget. Each traps the hook cleanly (a GuestTrap naming the cause) before
 * the store is asked anything; the gateway's thread and the store are untouched.
 */
import { describe, expect, it } from 'vitest';
import { GuestTrap } from '../../runtime/component/errors.ts';
import { loadComponent } from '../../runtime/component/loader.ts';
import type { HostCalls } from '../../runtime/component/types.ts';
import { INFO, KV_IMPORTS, hostileComponent, quietHost, requestHead } from '../helpers/hostile.ts';

const ALL_KV = Object.values(KV_IMPORTS).join('\n');
/** 0xff 0xfe at 200 (not UTF-8), "key" at 210; the return area at 3000 (8-aligned). */
const DATA = '(data (i32.const 200) "\\ff\\fe") (data (i32.const 210) "key")';

/** A host whose store records every call it receives. */
function recordingHost(calls: string[]): HostCalls {
  const ok = <T>(value: T) => Promise.resolve({ ok: true as const, value });
  return {
    ...quietHost(),
    kvGet: async (ns, key) => (calls.push(`get ${ns}/${key}`), ok(undefined)),
    kvSet: async (ns, key, v) => (calls.push(`set ${ns}/${key} ${v.byteLength}`), ok(undefined)),
    kvDelete: async (ns, key) => (calls.push(`delete ${ns}/${key}`), ok(false)),
    kvIncrement: async (ns, key, d) => (calls.push(`increment ${ns}/${key}`), ok(d)),
    kvCompareAndSwap: async (ns, key) => (calls.push(`cas ${ns}/${key}`), ok(false)),
  };
}

async function trapOf(requestHeaders: string, opts: { memoryLimitBytes?: number; binding?: 'fast' | 'jco' } = {}): Promise<{ err: unknown; calls: string[] }> {
  const bytes = await hostileComponent({ version: '0.2.0', imports: ALL_KV, extra: DATA, requestHeaders });
  const loaded = await loadComponent(bytes, { binding: opts.binding ?? 'fast', memoryLimitBytes: opts.memoryLimitBytes ?? 1024 * 1024, maxLoopIterations: 50_000_000 });
  const calls: string[] = [];
  const host = recordingHost(calls);
  const inst = await loaded.factory.instantiate();
  expect(await inst.configure(host, '{}')).toMatchObject({ ok: true });
  const err = await inst.onRequestHeaders(host, INFO, requestHead()).then(() => undefined, (e: unknown) => e);
  return { err, calls };
}

const get = (kp: string, kl: string, ret = '3000') => `(call $kv_get (i32.const 210) (i32.const 0) (i32.const ${kp}) (i32.const ${kl}) (i32.const ${ret}))`;

describe('a hostile guest calling keyvalue', () => {
  it('a well-formed call reaches the store (the baseline the cases below break)', async () => {
    const { err, calls } = await trapOf(get('210', '3'));
    expect(err).toBeUndefined();
    expect(calls).toEqual(['get /key']);
  });

  const cases: Array<[string, string, RegExp]> = [
    ['a key pointer past the end of memory', get('2000000', '3'), /out of bounds/],
    ['a key length of 4 GiB - 1', get('210', '-1'), /out of bounds/],
    ['invalid UTF-8 in the key', get('200', '2'), /invalid UTF-8/],
    ['invalid UTF-8 in the store name', '(call $kv_delete (i32.const 200) (i32.const 2) (i32.const 210) (i32.const 3) (i32.const 3000))', /invalid UTF-8/],
    ['a return area past the end of memory', get('210', '3', '2000000'), /out of bounds/],
    ['a misaligned return area', get('210', '3', '3001'), /not aligned/],
    ['an increment result area aligned to 4, not 8', '(call $kv_incr (i32.const 210) (i32.const 0) (i32.const 210) (i32.const 3) (i64.const 1) (i32.const 0) (i32.const 0) (i32.const 3004))', /not aligned to 8/],
    ['a TTL option tag of 7', '(call $kv_set (i32.const 210) (i32.const 0) (i32.const 210) (i32.const 3) (i32.const 210) (i32.const 3) (i32.const 7) (i32.const 1) (i32.const 3000))', /invalid option tag 7/],
    ['an expected-value option tag of 2', '(call $kv_cas (i32.const 210) (i32.const 0) (i32.const 210) (i32.const 3) (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 210) (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 3000))', /invalid option tag 2/],
    ['a value range past the end of memory', '(call $kv_set (i32.const 210) (i32.const 0) (i32.const 210) (i32.const 3) (i32.const 100) (i32.const 3000000) (i32.const 0) (i32.const 0) (i32.const 3000))', /out of bounds/],
  ];
  for (const [what, wat, message] of cases) {
    it(`${what}: traps before the store is asked`, async () => {
      const { err, calls } = await trapOf(wat);
      expect(err).toBeInstanceOf(GuestTrap);
      expect((err as Error).message).toMatch(message);
      expect(calls).toEqual([]);
    });
  }

  it('values re-sent in a loop stop at the call\'s lift budget (the memory ceiling), as a memory trap', async () => {
    // 64 KiB of value per call, 100 times, against a 1 MiB ceiling: the 16th call or so is refused.
    const loop = `(block $done (loop $again
      (call $kv_set (i32.const 210) (i32.const 0) (i32.const 210) (i32.const 3) (i32.const 0) (i32.const 65536) (i32.const 0) (i32.const 0) (i32.const 3000))
      (global.set $heap (i32.add (global.get $heap) (i32.const 1)))
      (br_if $again (i32.lt_u (global.get $heap) (i32.const 4196)))))`;
    const { err, calls } = await trapOf(loop);
    expect(err).toBeInstanceOf(GuestTrap);
    expect((err as GuestTrap).kind).toBe('memory');
    expect((err as Error).message).toMatch(/more than 1048576 bytes in one call/);
    expect(calls.length).toBeGreaterThan(5);
    expect(calls.length).toBeLessThan(17);
  });

  it('a hook calling the store in an endless loop stops at its CPU budget: each call is charged', async () => {
    // 100M fuel units; the loop's own instructions alone would take about 10M calls to spend them.
    const forever = `(loop $again ${get('210', '3')} (br $again))`;
    const bytes = await hostileComponent({ version: '0.2.0', imports: ALL_KV, extra: DATA, requestHeaders: forever });
    const loaded = await loadComponent(bytes, { binding: 'fast', maxLoopIterations: 100_000_000 });
    const calls: string[] = [];
    const host = recordingHost(calls);
    const inst = await loaded.factory.instantiate();
    await inst.configure(host, '{}');
    const err = await inst.onRequestHeaders(host, INFO, requestHead()).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(GuestTrap);
    expect((err as GuestTrap).kind).toBe('cpu-budget');
    expect(calls.length).toBeGreaterThan(1000);
    expect(calls.length).toBeLessThanOrEqual(100_000_000 / 20_000);
  });

  it('on the jco binding invalid UTF-8 in a key traps too (its decoders are strict)', async () => {
    const { err, calls } = await trapOf(get('200', '2'), { binding: 'jco' });
    expect(err).toBeInstanceOf(GuestTrap);
    expect(calls).toEqual([]);
  });
});
