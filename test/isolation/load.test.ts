/**
 * Loading untrusted bytes: validate first (before any tool reads them), refuse what cannot be
 * given a CPU budget unless the plugin is trusted, and cap every table like the memory.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComponentLoadError } from '../../runtime/component/errors.ts';
import { type LoadOptions, loadComponent } from '../../runtime/component/loader.ts';
import { coreExports, coreModulesOfComponent } from '../../runtime/component/wasm-binary.ts';
import { withCoreModule, withFirstBodySize, withoutLastGlobal } from '../helpers/corrupt.ts';
import { validateConfig } from '../../runtime/config/load.ts';
import { type HostileParts, hostileComponent, hostileCore, INFO, quietHost, requestHead } from '../helpers/hostile.ts';
import { startEchoUpstream, startTestGateway, type TestServer } from '../helpers/servers.ts';
import { oneRoute, testkit } from '../gateway/helpers.ts';

const host = quietHost();
const info = INFO;
const head = requestHead();

async function loadError(bytes: Uint8Array, opts: LoadOptions = {}): Promise<ComponentLoadError> {
  const err = await loadComponent(bytes, opts).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ComponentLoadError);
  return err as ComponentLoadError;
}

/** A hostile component whose guest module is replaced by `patch(guest)` (componentize would refuse it). */
async function patched(parts: HostileParts, patch: (core: Uint8Array) => Uint8Array): Promise<Uint8Array> {
  const component = await hostileComponent(parts);
  const index = coreModulesOfComponent(component).findIndex((m) => coreExports(m).some((e) => e.name === 'cabi_realloc'));
  return withCoreModule(component, index, patch(coreModulesOfComponent(component)[index]!));
}

describe('validate first', () => {
  it('refuses a function body claiming 0x3fffffff bytes fast, without growing the process', async () => {
    const bytes = await patched({}, (core) => withFirstBodySize(core, 0x3fffffff));
    const rss = process.memoryUsage().rss;
    const started = performance.now();
    const err = await loadError(bytes);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(100 * 1024 * 1024);
    expect(err.code).toBe('invalid-module');
    expect(err.message).toMatch(/core module \d+ of the component is not valid WebAssembly: .+/);
  });

  it('refuses code that names the index the fuel global would take (invalid before instrumenting, valid after)', async () => {
    const parts = { extra: '(global $x (mut i32) (i32.const 0))', requestHeaders: '(global.set $x (i32.const 0x7fffffff))' };
    const bytes = await patched(parts, withoutLastGlobal);
    const err = await loadError(bytes);
    expect(err.code).toBe('invalid-module');
    expect(err.message).toMatch(/global/);
  });

  it('refuses a module that exports the fuel global name itself', async () => {
    const own = await hostileCore({ extra: '(global (export "praxis_fuel") (mut i32) (i32.const 2147483647))' });
    const err = await loadError(await patched({}, () => own));
    expect(err.code).toBe('reserved-export');
    expect(err.message).toMatch(/praxis_fuel/);
  });
});

describe('code the instrumenter cannot read', () => {
  const gc = { requestHeaders: '(drop (i31.get_s (ref.i31 (i32.const 7))))' };

  it('is refused at load, naming the opcode', async () => {
    const err = await loadError(await hostileComponent(gc));
    expect(err.code).toBe('uninstrumentable');
    expect(err.message).toMatch(/opcode 0xfb/);
    expect(err.message).toMatch(/trusted/);
  });

  it('loads when the plugin is trusted, saying it runs without a CPU bound', async () => {
    const loaded = await loadComponent(await hostileComponent(gc), { trusted: true });
    expect(loaded.factory.binding).toBe('fast');
    expect(loaded.unboundedLoops).toMatch(/opcode 0xfb/);
    const inst = await loaded.factory.instantiate();
    await inst.configure(host, '{}');
    expect(await inst.onRequestHeaders(host, info, head)).toEqual({ tag: 'continue' });
  });
});

describe('table ceiling', () => {
  /** Traps unless growing the table by `n` entries fails. */
  const growMustFail = (n: number) => ({
    extra: '(table $t 1 funcref)',
    requestHeaders: `(if (i32.ne (table.grow $t (ref.null func) (i32.const ${n})) (i32.const -1)) (then unreachable))`,
  });

  it('makes table.grow past the ceiling fail inside the guest (default 10,000 entries)', async () => {
    const inst = await (await loadComponent(await hostileComponent(growMustFail(1_000_000)))).factory.instantiate();
    await inst.configure(host, '{}');
    expect(await inst.onRequestHeaders(host, info, head)).toEqual({ tag: 'continue' });
  });

  it('follows tableLimit, and keeps a smaller declared maximum', async () => {
    const inst = await (await loadComponent(await hostileComponent(growMustFail(200)), { tableLimit: 100 })).factory.instantiate();
    await inst.configure(host, '{}');
    expect(await inst.onRequestHeaders(host, info, head)).toEqual({ tag: 'continue' });
    const small = { ...growMustFail(20), extra: '(table $t 1 10 funcref)' };
    const inst2 = await (await loadComponent(await hostileComponent(small), { tableLimit: 100 })).factory.instantiate();
    await inst2.configure(host, '{}');
    expect(await inst2.onRequestHeaders(host, info, head)).toEqual({ tag: 'continue' });
  });

  it('caps tables on the jco path too', async () => {
    const loaded = await loadComponent(await hostileComponent(growMustFail(200)), { tableLimit: 100, binding: 'jco' });
    expect(loaded.factory.binding).toBe('jco');
    const inst = await loaded.factory.instantiate();
    await inst.configure(host, '{}');
    expect(await inst.onRequestHeaders(host, info, head)).toEqual({ tag: 'continue' });
  });

  it('refuses a table that starts above the ceiling', async () => {
    const err = await loadError(await hostileComponent({ extra: '(table 20000 funcref)' }));
    expect(err.code).toBe('table-limit');
    expect(err.message).toMatch(/20000 entries, above the plugin's table ceiling of 10000 \(tableLimit\)/);
  });
});

describe('plugin config keys', () => {
  let echo: TestServer;
  let dir: string;
  beforeAll(async () => {
    echo = await startEchoUpstream();
    dir = await mkdtemp(join(tmpdir(), 'praxis-load-'));
  });
  afterAll(() => echo.close());

  it('checks cpuBudgetMs, trusted and tableLimit, naming the key; old configs with maxLoopIterations still load', () => {
    const cfg = (extra: Record<string, unknown>) => oneRoute({ x: testkit({}, extra) }, ['x'], { main: 'http://127.0.0.1:1' });
    expect(() => validateConfig(cfg({ cpuBudgetMs: 0 }))).toThrow(/plugins\.x\.cpuBudgetMs: must be >= 1/);
    expect(() => validateConfig(cfg({ tableLimit: 0 }))).toThrow(/plugins\.x\.tableLimit: must be >= 1/);
    expect(() => validateConfig(cfg({ trusted: 'yes' }))).toThrow(/plugins\.x\.trusted: must be boolean/);
    expect(() => validateConfig(cfg({ maxLoopIterations: 5_000_000, cpuBudgetMs: 20, trusted: false, tableLimit: 50 }))).not.toThrow();
  });

  it('hands trusted and tableLimit from the plugin entry to the loader', async () => {
    const write = async (name: string, parts: HostileParts): Promise<string> => {
      const path = join(dir, `${name}.wasm`);
      await writeFile(path, await hostileComponent(parts));
      return path;
    };
    const gc = await write('gc', { requestHeaders: '(drop (i31.get_s (ref.i31 (i32.const 7))))' });
    const big = await write('big-table', { extra: '(table 20000 funcref)' });
    const start = (plugin: Record<string, unknown>) => startTestGateway(oneRoute({ p: { path: gc, ...plugin } }, ['p'], { main: echo.url }));
    await expect(start({})).rejects.toThrow(/plugin "p" failed to load: .*cannot be given a CPU budget.*opcode 0xfb/);
    await expect(startTestGateway(oneRoute({ p: { path: big } }, ['p'], { main: echo.url }))).rejects.toThrow(/table ceiling of 10000/);
    const gw = await startTestGateway(oneRoute({ p: { path: gc, trusted: true }, t: { path: big, tableLimit: 30_000 } }, ['p', 't'], { main: echo.url }));
    try {
      const res = await request(`${gw.url}/ok`);
      expect(res.statusCode).toBe(200);
      await res.body.text();
      expect(gw.logs.some((l) => l.level === 40 && /no CPU budget for part of this trusted plugin/.test(String(l.msg)))).toBe(true);
    } finally {
      await gw.close();
    }
  });
});
