/**
 * Host memory is bounded by the guest's own limits: whatever pointers and lengths a hostile
 * guest hands the fast binding, the host lifts at most the plugin's memory ceiling per call,
 * reads every pointer and length as unsigned, and traps on strings that are not UTF-8.
 */
import { describe, expect, it } from 'vitest';
import { GuestTrap } from '../../runtime/component/errors.ts';
import { loadComponent } from '../../runtime/component/loader.ts';
import type { FilterInstance } from '../../runtime/component/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { IMPORTS, hostileComponent, type HostileParts, INFO, quietHost, requestHead } from '../helpers/hostile.ts';
import { startEchoUpstream, startTestGateway } from '../helpers/servers.ts';
import { oneRoute } from '../gateway/helpers.ts';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MiB = 1024 * 1024;
const track = useCleanup();

const logs: string[] = [];
const host = quietHost(logs);
const info = INFO;
const head = requestHead([['a', 'b']]);

async function instance(parts: HostileParts, memoryLimitBytes?: number): Promise<FilterInstance> {
  const loaded = await loadComponent(await hostileComponent(parts), memoryLimitBytes ? { memoryLimitBytes } : {});
  expect(loaded.factory.binding).toBe('fast');
  const inst = await loaded.factory.instantiate();
  expect(await inst.configure(host, '{}')).toMatchObject({ ok: true });
  return inst;
}

/** A continue action at 2048 whose set-headers list (at 8192) has `n` entries, each from `entry`. */
function continueWithHeaders(n: number, entry: string): HostileParts['extra'] {
  return `(func $action (result i32)
    (local $i i32) (local $p i32)
    (loop $l
      (local.set $p (i32.add (i32.const 8192) (i32.mul (local.get $i) (i32.const 16))))
      ${entry}
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const ${n}))))
    (memory.fill (i32.const 2048) (i32.const 0) (i32.const 48))
    (i32.store8 (i32.const 2052) (i32.const 1))
    (i32.store (i32.const 2056) (i32.const 8192))
    (i32.store (i32.const 2060) (i32.const ${n}))
    (i32.const 2048))`;
}

/** A header whose name and value both are the 1 MiB range of 'a' at 64 KiB. */
const ALIAS_ENTRY = `
      (i32.store (local.get $p) (i32.const 65536))
      (i32.store offset=4 (local.get $p) (i32.const ${MiB}))
      (i32.store offset=8 (local.get $p) (i32.const 65536))
      (i32.store offset=12 (local.get $p) (i32.const ${MiB}))`;

/** `n` headers aliasing one 1 MiB range; 512 of them are 1 GiB if lifted one by one. */
function aliased(n: number): HostileParts {
  return {
    pages: 18,
    requestHeaders: `(memory.fill (i32.const 65536) (i32.const 0x61) (i32.const ${MiB})) (return (call $action))`,
    extra: continueWithHeaders(n, ALIAS_ENTRY),
  };
}
const ALIASED = aliased(512);

async function trapOf(p: Promise<unknown>): Promise<GuestTrap> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(GuestTrap);
  return err as GuestTrap;
}

describe('lift budget', () => {
  it('refuses a header list aliasing one 1 MiB range 512 times, and host memory stays bounded', async () => {
    const inst = await instance(ALIASED);
    const before = process.memoryUsage().rss;
    const trap = await trapOf(inst.onRequestHeaders(host, info, head));
    const grown = process.memoryUsage().rss - before;
    expect(trap.message).toMatch(/more than 67108864 bytes in one call/);
    expect(trap.kind).toBe('memory');
    // Lifted one by one, the list is 1 GiB of strings; the budget stops it at the 64 MiB ceiling.
    expect(grown).toBeLessThan(400 * MiB);
  });

  it('the budget is the memory ceiling and starts afresh with every call', async () => {
    // 3 headers of 2 x 1 MiB: 6 MiB a call, under a 64 MiB ceiling (20 calls: 120 MiB) but over a 4 MiB one.
    const three = aliased(3);
    const roomy = await instance(three);
    for (let i = 0; i < 20; i++) {
      const action = await roomy.onRequestHeaders(host, info, head);
      expect(action.tag === 'continue' && action.mutations?.setHeaders.length).toBe(3);
    }
    const tight = await instance(three, 4 * MiB + 2 * 65536);
    expect((await trapOf(tight.onRequestHeaders(host, info, head))).message).toMatch(/more than 4325376 bytes/);
  });

  it('checks a list length against the memory before making the list', async () => {
    // 0x0fffffff elements of 16 bytes: no memory holds that, so nothing is allocated for it.
    const inst = await instance({ requestHeaders: '(return (call $action))', extra: `(func $action (result i32)
      (memory.fill (i32.const 2048) (i32.const 0) (i32.const 48))
      (i32.store8 (i32.const 2052) (i32.const 1))
      (i32.store (i32.const 2056) (i32.const 8192))
      (i32.store (i32.const 2060) (i32.const 0x0fffffff))
      (i32.const 2048))` });
    expect((await trapOf(inst.onRequestHeaders(host, info, head))).message).toMatch(/out of bounds/);
  });
});

describe('pointers and lengths are unsigned', () => {
  it('a pointer >= 2^31 handed to an import traps', async () => {
    const inst = await instance({ imports: IMPORTS.log, requestHeaders: '(call $log (i32.const 1) (i32.const 0x80000000) (i32.const 8))' });
    expect((await trapOf(inst.onRequestHeaders(host, info, head))).message).toMatch(/out of bounds: 2147483648\+8/);
  });

  it('a negative pointer whose range ends at 0 traps instead of reading nothing', async () => {
    const inst = await instance({ imports: IMPORTS.log, requestHeaders: '(call $log (i32.const 1) (i32.const -16) (i32.const 16))' });
    expect((await trapOf(inst.onRequestHeaders(host, info, head))).message).toMatch(/out of bounds: 4294967280\+16/);
  });

  it('a length >= 2^31 traps instead of reading as empty', async () => {
    const inst = await instance({ imports: IMPORTS.log, requestHeaders: '(call $log (i32.const 1) (i32.const 64) (i32.const -1))' });
    expect((await trapOf(inst.onRequestHeaders(host, info, head))).message).toMatch(/out of bounds: 64\+4294967295/);
  });
});

describe('strings must be UTF-8', () => {
  it('a header name that is not UTF-8 traps', async () => {
    const inst = await instance({
      requestHeaders: '(i32.store16 (i32.const 12288) (i32.const 0xfeff)) (return (call $action))',
      extra: continueWithHeaders(1, `
      (i32.store (local.get $p) (i32.const 12288))
      (i32.store offset=4 (local.get $p) (i32.const 2))
      (i32.store offset=8 (local.get $p) (i32.const 64))
      (i32.store offset=12 (local.get $p) (i32.const 7))`),
    });
    expect((await trapOf(inst.onRequestHeaders(host, info, head))).message).toMatch(/invalid UTF-8/);
  });

  it('a log message that is not UTF-8 traps (short and long strings alike)', async () => {
    for (const len of [2, 40]) {
      logs.length = 0;
      const inst = await instance({
        imports: IMPORTS.log,
        // 'a' * len, then a lone continuation byte at the end.
        requestHeaders: `(memory.fill (i32.const 12288) (i32.const 0x61) (i32.const ${len}))
          (i32.store8 (i32.const ${12288 + len - 1}) (i32.const 0x80))
          (call $log (i32.const 1) (i32.const 12288) (i32.const ${len}))`,
      });
      expect((await trapOf(inst.onRequestHeaders(host, info, head))).message).toMatch(/invalid UTF-8/);
      expect(logs).toEqual([]);
    }
  });

  it('valid multi-byte UTF-8 still lifts', async () => {
    logs.length = 0;
    const inst = await instance({ imports: IMPORTS.log, extra: '(data (i32.const 12288) "caf\\c3\\a9 \\e2\\82\\ac")', requestHeaders: '(call $log (i32.const 1) (i32.const 12288) (i32.const 9))' });
    await inst.onRequestHeaders(host, info, head);
    expect(logs).toEqual(['café €']);
  });
});

describe('at the gateway', () => {
  it('a hook over its lift budget answers 500 naming the plugin; the gateway keeps serving', async () => {
    const up = track(await startEchoUpstream());
    const dir = await mkdtemp(join(tmpdir(), 'praxis-hostile-'));
    const path = join(dir, 'aliased.wasm');
    await writeFile(path, await hostileComponent(ALIASED));
    const gw = track(await startTestGateway(oneRoute({ aliased: { path, memoryLimitMb: 4 } }, ['aliased'], { main: up.url })));
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${gw.url}/x`);
      expect(r.status).toBe(500);
      expect(await r.text()).toMatch(/aliased/);
    }
    expect(up.seen).toHaveLength(0);
    expect(gw.logs.some((l) => /more than 4194304 bytes in one call/.test(l.msg))).toBe(true);
  });
});
