/** The restricted WASI: which imports load, what the provided interfaces do. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { componentEmbed, componentNew } from '@bytecodealliance/jco';
import { afterAll, describe, expect, it } from 'vitest';
import { ComponentLoadError } from '../../runtime/component/errors.ts';
import { loadComponent } from '../../runtime/component/loader.ts';
import type { LogLevel } from '../../runtime/component/types.ts';
import { STDIO_LIMITS, createWasiContext, isAllowedWasiImport } from '../../runtime/component/wasi.ts';
import { ROOT } from '../helpers/servers.ts';

const PRAXIS = readFileSync(`${ROOT}wit/praxis.wit`, 'utf8');
const cacheDir = mkdtempSync(join(tmpdir(), 'praxis-wasi-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

/** A dummy component of world plugin plus `extra` imports; `packages` defines the WASI ones. */
async function dummyWith(extra: string[], packages: string): Promise<Uint8Array> {
  const world = `world test-world {\n  include plugin;\n${extra.map((i) => `  import ${i};\n`).join('')}}\n`;
  const witSource = `${PRAXIS}\n${world}\n${packages}`;
  const embedded = await componentEmbed({ dummy: true, witSource, world: 'test-world', stringEncoding: 'utf8' });
  return componentNew(embedded, []);
}

const WASI_PKGS = `
package wasi:sockets@0.2.3 {
  interface tcp { connect: func(port: u16) -> u32; }
}
package wasi:clocks@0.2.3 {
  interface wall-clock {
    record datetime { seconds: u64, nanoseconds: u32 }
    now: func() -> datetime;
  }
}
package wasi:cli@0.2.3 {
  interface environment {
    get-environment: func() -> list<tuple<string, string>>;
    get-arguments: func() -> list<string>;
  }
}
package wasi:http@0.2.3 {
  interface outgoing-handler { handle: func(url: string) -> u32; }
}
`;

async function refusal(bytes: Uint8Array): Promise<ComponentLoadError> {
  const err = await loadComponent(bytes, { cacheDir }).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ComponentLoadError);
  return err as ComponentLoadError;
}

describe('checkWorld and WASI imports', () => {
  it('allows the listed interfaces at any 0.2.x, nothing else', () => {
    expect(isAllowedWasiImport('wasi:clocks/wall-clock@0.2.0')).toBe(true);
    expect(isAllowedWasiImport('wasi:io/streams@0.2.12')).toBe(true);
    expect(isAllowedWasiImport('wasi:filesystem/preopens@0.2.3')).toBe(true);
    expect(isAllowedWasiImport('wasi:clocks/wall-clock@0.3.0')).toBe(false);
    expect(isAllowedWasiImport('wasi:sockets/tcp@0.2.3')).toBe(false);
    expect(isAllowedWasiImport('wasi:http/outgoing-handler@0.2.3')).toBe(false);
    expect(isAllowedWasiImport('wasi:clocks/timezone@0.2.3')).toBe(false);
  });

  it('refuses a component importing wasi:sockets/tcp, naming it and why', async () => {
    const err = await refusal(await dummyWith(['wasi:sockets/tcp@0.2.3', 'wasi:clocks/wall-clock@0.2.3'], WASI_PKGS));
    expect(err.code).toBe('forbidden-import');
    expect(err.message).toContain('wasi:sockets/tcp@0.2.3');
    expect(err.message).not.toContain('wall-clock');
    expect(err.message).toContain('praxis:filter/http-client');
  });

  it('refuses wasi:http', async () => {
    const err = await refusal(await dummyWith(['wasi:http/outgoing-handler@0.2.3'], WASI_PKGS));
    expect(err.code).toBe('forbidden-import');
    expect(err.message).toContain('wasi:http/outgoing-handler@0.2.3');
  });

  it('loads a component importing allowed WASI on the jco path, and its imports resolve', async () => {
    const loaded = await loadComponent(await dummyWith(['wasi:clocks/wall-clock@0.2.3', 'wasi:cli/environment@0.2.3'], WASI_PKGS), { cacheDir });
    expect(loaded.factory.binding).toBe('jco');
    expect(loaded.wit).toContain('wasi:cli/environment@0.2.3');
    // The dummy's hooks are `unreachable`; instantiation alone proves every import resolved.
    const inst = await loaded.factory.instantiate();
    expect(typeof inst.onRequestHeaders).toBe('function');
  });
});

describe('the restricted WASI imports', () => {
  function ctx() {
    const c = createWasiContext();
    const lines: Array<[LogLevel, string]> = [];
    c.begin((level, msg) => lines.push([level, msg]));
    const get = <T>(iface: string, name: string) => c.imports[iface]![name] as T;
    return { c, lines, get };
  }
  const enc = (s: string) => new TextEncoder().encode(s);
  interface Out { write(b: Uint8Array): void; blockingWriteAndFlush(b: Uint8Array): void; checkWrite(): bigint }

  it('stdout/stderr are line-buffered into the log; the rest is flushed at the end of the call', () => {
    const { c, lines, get } = ctx();
    const out = get<() => Out>('wasi:cli/stdout', 'getStdout')();
    const err = get<() => Out>('wasi:cli/stderr', 'getStderr')();
    out.write(enc('hel'));
    out.write(enc('lo\nwor'));
    err.blockingWriteAndFlush(enc('oops\n'));
    const euro = enc('€\n');
    out.write(euro.slice(0, 1)); // a UTF-8 sequence split across writes
    out.write(euro.slice(1));
    expect(lines).toEqual([['info', 'hello'], ['warn', 'oops'], ['info', 'wor€']]);
    out.write(enc('tail'));
    c.end();
    expect(lines.at(-1)).toEqual(['info', 'tail']);
    out.write(enc('after the call\n'));
    expect(lines).toHaveLength(4);
  });

  it('bounds output: long lines are cut, output past the per-call budget is dropped with one notice', () => {
    const { c, lines, get } = ctx();
    const out = get<() => Out>('wasi:cli/stdout', 'getStdout')();
    out.write(enc('x'.repeat(STDIO_LIMITS.maxLineBytes * 2 + 10)));
    expect(lines.map(([, m]) => m.length)).toEqual([STDIO_LIMITS.maxLineBytes, STDIO_LIMITS.maxLineBytes]);
    for (let i = 0; i < 1000; i++) out.write(enc(`${'y'.repeat(200)}\n`));
    const total = lines.reduce((n, [, m]) => n + m.length, 0);
    expect(total).toBeLessThanOrEqual(STDIO_LIMITS.maxBytesPerCall);
    expect(lines.filter(([l, m]) => l === 'warn' && m.includes('dropped'))).toHaveLength(1);
    c.begin(() => {});
    c.end();
  });

  it('environment, args, cwd and preopens are empty; exit traps; stdin is closed', () => {
    const { get } = ctx();
    expect(get<() => unknown[]>('wasi:cli/environment', 'getEnvironment')()).toEqual([]);
    expect(get<() => unknown[]>('wasi:cli/environment', 'getArguments')()).toEqual([]);
    expect(get<() => unknown>('wasi:cli/environment', 'initialCwd')()).toBeUndefined();
    expect(get<() => unknown[]>('wasi:filesystem/preopens', 'getDirectories')()).toEqual([]);
    expect(() => get<(s: unknown) => void>('wasi:cli/exit', 'exit')({ tag: 'ok' })).toThrow(/wasi:cli\/exit/);
    const stdin = get<() => { read(n: bigint): Uint8Array }>('wasi:cli/stdin', 'getStdin')();
    expect(() => stdin.read(10n)).toThrow();
    for (const t of ['stdin', 'stdout', 'stderr']) expect(get<() => unknown>(`wasi:cli/terminal-${t}`, `getTerminal${t[0]!.toUpperCase()}${t.slice(1)}`)()).toBeUndefined();
  });

  it('clocks and random work; a clock pollable not yet due traps instead of blocking', () => {
    const { get } = ctx();
    const wall = get<() => { seconds: bigint }>('wasi:clocks/wall-clock', 'now')();
    expect(Number(wall.seconds)).toBeCloseTo(Date.now() / 1000, -1);
    const bytes = get<(n: bigint) => Uint8Array>('wasi:random/random', 'getRandomBytes')(16n);
    expect(bytes).toHaveLength(16);
    const sub = get<(d: bigint) => { ready(): boolean; block(): void }>('wasi:clocks/monotonic-clock', 'subscribeDuration');
    const poll = get<(l: unknown[]) => Uint32Array>('wasi:io/poll', 'poll');
    expect(sub(0n).ready()).toBe(true);
    const later = sub(10_000_000_000n);
    expect(later.ready()).toBe(false);
    const start = Date.now();
    expect(() => later.block()).toThrow(/block the gateway thread/);
    expect(() => poll([later])).toThrow(/block the gateway thread/);
    expect([...poll([later, sub(0n)])]).toEqual([1]);
    expect(Date.now() - start).toBeLessThan(1000);
  });
});
