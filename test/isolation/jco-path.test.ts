/**
 * The jco path holds the same line as the fast one: fuel in every core module (a spinning guest
 * traps with kind 'cpu-budget'), glue cached only in a private, hash-checked directory, and
 * invalid UTF-8 from the guest a trap rather than U+FFFD.
 */
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ComponentLoadError, GuestTrap } from '../../runtime/component/errors.ts';
import { defaultCacheDir } from '../../runtime/component/glue-cache.ts';
import { createJcoFactory } from '../../runtime/component/jco-binding.ts';
import { strictDecoders } from '../../runtime/component/jco-glue.ts';
import { loadComponent } from '../../runtime/component/loader.ts';
import type { FilterInstance } from '../../runtime/component/types.ts';
import { IMPORTS, type HostileParts, hostileComponent, INFO, quietHost, requestHead } from '../helpers/hostile.ts';
import { fixturePath } from '../helpers/servers.ts';

const work = mkdtempSync(join(tmpdir(), 'praxis-jco-path-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let dirs = 0;
/** A cache directory that does not exist yet. */
const freshCacheDir = () => join(work, `cache-${++dirs}`);

const host = quietHost();
const info = INFO;
const head = requestHead();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function jcoFactory(parts: HostileParts, opts: { fuelBudget?: number; trusted?: boolean; cacheDir?: string; warnings?: string[] } = {}) {
  const bytes = await hostileComponent(parts);
  const factory = await createJcoFactory(bytes, sha(bytes), opts.cacheDir ?? freshCacheDir(), 16, false, {
    ...(opts.fuelBudget !== undefined ? { fuelBudget: opts.fuelBudget } : {}),
    ...(opts.trusted !== undefined ? { trusted: opts.trusted } : {}),
    warn: (m) => opts.warnings?.push(m),
  });
  return { bytes, factory };
}

async function configured(inst: FilterInstance): Promise<FilterInstance> {
  expect(await inst.configure(host, '{}')).toMatchObject({ ok: true, value: { name: 'hostile' } });
  return inst;
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => undefined, (e: unknown) => e);
}

describe('fuel on the jco path', () => {
  it('a hook spinning forever traps as cpu-budget; the instance is then broken, a fresh one works', async () => {
    const bytes = await hostileComponent({ requestHeaders: '(loop $l (br $l))' });
    const loaded = await loadComponent(bytes, { binding: 'jco', cacheDir: freshCacheDir(), maxLoopIterations: 1_000_000 });
    expect(loaded.factory.binding).toBe('jco');
    expect(loaded.unboundedLoops).toBeUndefined();
    const inst = await configured(await loaded.factory.instantiate());
    const err = await failure(inst.onRequestHeaders(host, info, head));
    expect(err).toBeInstanceOf(GuestTrap);
    expect((err as GuestTrap).kind).toBe('cpu-budget');
    expect((err as GuestTrap).message).toMatch(/^on-request-headers ran past its CPU budget \(1000000 fuel units\)/);
    expect(await failure(inst.onResponseHeaders(host, info, { status: 200, headers: [] }))).toBeInstanceOf(GuestTrap);
    const fresh = await configured(await loaded.factory.instantiate());
    expect(await fresh.onResponseHeaders(host, info, { status: 200, headers: [] })).toEqual({ tag: 'continue' });
  });

  it('the budget is refilled before every call: bounded work fits again and again', async () => {
    // 1000 iterations per call; the budget covers one call, not the sum of many.
    const loop = '(local $i i32) (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))';
    const { factory } = await jcoFactory({ requestHeaders: loop }, { fuelBudget: 200_000 });
    const inst = await configured(await factory.instantiate());
    for (let i = 0; i < 50; i++) expect(await inst.onRequestHeaders(host, info, head)).toEqual({ tag: 'continue' });
  });

  it('a start function spinning forever fails the instantiation instead of stalling it', async () => {
    const { factory } = await jcoFactory({ extra: '(func $spin (loop $l (br $l))) (start $spin)' }, { fuelBudget: 1_000_000 });
    const err = await failure(factory.instantiate());
    expect(err).toBeInstanceOf(Error);
  });

  it('the componentize-js fixture (a 12 MB StarlingMonkey core) is instrumented and runs under its budget', async () => {
    const bytes = new Uint8Array(readFileSync(fixturePath('js-filter')));
    const factory = await createJcoFactory(bytes, sha(bytes), join(work, 'js-filter-cache'), 1024, true, { fuelBudget: 1_000_000 });
    expect(factory.unboundedLoops).toBeUndefined();
    const err = await failure((await factory.instantiate()).configure(host, '{}'));
    expect(err).toBeInstanceOf(GuestTrap);
    expect((err as GuestTrap).kind).toBe('cpu-budget');
  });

  it('refuses a component whose code cannot be instrumented unless it is trusted', async () => {
    // Valid wasm (threads' atomics on an unshared memory) that the fuel decoder does not read.
    const parts = { requestHeaders: '(drop (i32.atomic.load (i32.const 0)))' };
    const err = await failure(jcoFactory(parts));
    expect(err).toBeInstanceOf(ComponentLoadError);
    expect((err as ComponentLoadError).code).toBe('uninstrumentable');
    expect((err as ComponentLoadError).message).toMatch(/core module plugin\.core\.wasm cannot be given a CPU budget/);
    const { factory } = await jcoFactory(parts, { trusted: true });
    expect(factory.unboundedLoops).toMatch(/plugin\.core\.wasm/);
    const inst = await configured(await factory.instantiate());
    expect(await inst.onRequestHeaders(host, info, head)).toEqual({ tag: 'continue' });
  });
});

describe('the glue cache', () => {
  it('defaults to a per-user cache directory, never the shared temp dir', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/xdg/cache' })).toBe('/xdg/cache/praxis-wasm');
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'relative' })).toMatch(/\/\.cache\/praxis-wasm$/);
    expect(defaultCacheDir({})).not.toContain(tmpdir());
  });

  it('loadComponent without cacheDir caches under $XDG_CACHE_HOME/praxis-wasm, a 0700 directory of 0600 files', async () => {
    const xdg = join(work, 'xdg');
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = xdg;
    try {
      const bytes = await hostileComponent({ configure: '(nop)' });
      await loadComponent(bytes, { binding: 'jco' });
      const root = join(xdg, 'praxis-wasm');
      expect(statSync(root).mode & 0o777).toBe(0o700);
      const entry = join(root, `jco-${sha(bytes)}`);
      expect(statSync(entry).mode & 0o777).toBe(0o700);
      const names = readdirSync(entry).sort();
      expect(names).toContain('manifest.json');
      expect(names).toContain('plugin.js');
      expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
      for (const n of names) expect(statSync(join(entry, n)).mode & 0o777).toBe(0o600);
      const manifest = JSON.parse(readFileSync(join(entry, 'manifest.json'), 'utf8')) as { files: Record<string, string> };
      expect(manifest.files['plugin.js']).toBe(sha(readFileSync(join(entry, 'plugin.js'))));
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
  });

  it('a tampered glue file is not executed: it is transpiled again, logged, and the entry repaired', async () => {
    const cacheDir = freshCacheDir();
    const warnings: string[] = [];
    const { bytes } = await jcoFactory({ configure: '(nop) (nop)' }, { cacheDir, warnings });
    const glue = join(cacheDir, `jco-${sha(bytes)}`, 'plugin.js');
    const original = readFileSync(glue, 'utf8');
    const marker = `__praxisTampered${Date.now()}`;
    writeFileSync(glue, `globalThis.${marker} = true;\n${original}`);
    const again = await jcoFactory({ configure: '(nop) (nop)' }, { cacheDir, warnings });
    expect((globalThis as Record<string, unknown>)[marker]).toBeUndefined();
    expect(warnings.join('\n')).toMatch(/plugin\.js does not match the sha256 recorded/);
    await configured(await again.factory.instantiate());
    expect(readFileSync(glue, 'utf8')).toBe(original);
  });

  it('a tampered core module is not used either', async () => {
    const cacheDir = freshCacheDir();
    const warnings: string[] = [];
    const parts = { configure: '(nop) (nop) (nop)' };
    const { bytes } = await jcoFactory(parts, { cacheDir, warnings });
    const core = join(cacheDir, `jco-${sha(bytes)}`, 'plugin.core.wasm');
    writeFileSync(core, new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    const again = await jcoFactory(parts, { cacheDir, warnings });
    expect(warnings.join('\n')).toMatch(/plugin\.core\.wasm does not match/);
    await configured(await again.factory.instantiate());
  });

  it('refuses a cache directory others may write, and still loads (without caching)', async () => {
    const cacheDir = freshCacheDir();
    mkdirSync(cacheDir, { mode: 0o700 });
    chmodSync(cacheDir, 0o777);
    const warnings: string[] = [];
    const { factory } = await jcoFactory({ configure: '(nop) (nop) (nop) (nop)' }, { cacheDir, warnings });
    expect(warnings.join('\n')).toMatch(/writable by group or others/);
    expect(readdirSync(cacheDir)).toEqual([]);
    await configured(await factory.instantiate());
  });

  it('refuses a cache directory owned by another user', async () => {
    // As root: a fresh directory handed to uid 1. Otherwise: the root directory, owned by root.
    const asRoot = process.getuid?.() === 0;
    const cacheDir = asRoot ? freshCacheDir() : '/';
    if (asRoot) {
      mkdirSync(cacheDir, { mode: 0o700 });
      chownSync(cacheDir, 1, 1);
    }
    const before = readdirSync(cacheDir);
    const warnings: string[] = [];
    await jcoFactory({ configure: '(nop) (nop) (nop) (nop) (nop)' }, { cacheDir, warnings });
    expect(warnings.join('\n')).toMatch(asRoot ? /owned by uid 1/ : /owned by uid 0/);
    expect(readdirSync(cacheDir)).toEqual(before);
  });
});

describe('UTF-8 on the jco path', () => {
  it('a filter name that is not UTF-8 traps configure instead of becoming U+FFFD', async () => {
    const bytes = await hostileComponent({ configure: '(i32.store8 (i32.const 64) (i32.const 0xff))' });
    const loaded = await loadComponent(bytes, { binding: 'jco', cacheDir: freshCacheDir() });
    const err = await failure((await loaded.factory.instantiate()).configure(host, '{}'));
    expect(err).toBeInstanceOf(GuestTrap);
    expect((err as GuestTrap).kind).toBe('trap');
  });

  it('a log line that is not UTF-8 traps the hook', async () => {
    const logs: string[] = [];
    const bytes = await hostileComponent({
      imports: IMPORTS.log,
      requestHeaders: '(i32.store8 (i32.const 3000) (i32.const 0xc3)) (call $log (i32.const 1) (i32.const 3000) (i32.const 1))',
    });
    const loaded = await loadComponent(bytes, { binding: 'jco', cacheDir: freshCacheDir() });
    const inst = await configured(await loaded.factory.instantiate());
    const err = await failure(inst.onRequestHeaders({ ...host, log: (_l, m) => { logs.push(m); } }, info, head));
    expect(err).toBeInstanceOf(GuestTrap);
    expect(logs).toEqual([]);
  });

  it('every decoder in the glue is made fatal; glue with one that cannot be is refused', () => {
    expect(strictDecoders('const a = new TextDecoder(); const b = new TextDecoder(\'utf-16\');'))
      .toBe('const a = new TextDecoder(\'utf-8\', { fatal: true }); const b = new TextDecoder(\'utf-16\', { fatal: true });');
    const err = (() => { try { strictDecoders('new TextDecoder(\'latin1\')'); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(ComponentLoadError);
  });
});
