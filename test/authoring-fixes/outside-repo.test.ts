/**
 * Plugins written where authors write them, outside the repository (a temp folder), in both
 * languages: `praxis-wasm build` prints where the component really is, the AssemblyScript SDK
 * can write JSON and edit members as the Rust SDK can, Rust's collect_body keeps the request and
 * response bodies apart, SubrequestError has Display, and a crate without #![no_std] gets a hint.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRustToolchain } from '../../runtime/build/rust.ts';
import { loadComponent } from '../../runtime/component/loader.ts';
import type { Action, HostCalls, LogLevel } from '../../runtime/component/types.ts';
import { buildPlugin } from '../../scripts/build-plugins.ts';
import { runCli } from '../helpers/cli.ts';
import { ROOT } from '../helpers/servers.ts';
import { noKeyValue } from '../../runtime/keyvalue/no-store.ts';
import { systemClockCalls } from '../../runtime/component/host-clock.ts';

const SOURCES = join(import.meta.dirname, 'sources');
let work: string;
beforeAll(async () => { work = await mkdtemp(join(tmpdir(), 'praxis-authoring-')); });
afterAll(async () => { await rm(work, { recursive: true, force: true }); });

const cli = runCli;

/** Host calls with a real per-request context, captured logs, and sub-requests denied with a reason. */
function testHost(logs: string[]): HostCalls {
  const ctx = new Map<string, Uint8Array>();
  const denied = { ok: false as const, error: { tag: 'denied' as const, reason: 'host elsewhere.example not allowed' } };
  return {
    httpSubrequest: async () => denied,
    httpSubrequestAll: async (reqs) => reqs.map(() => denied),
    contextGet: (k) => ctx.get(k),
    contextSet: (k, v) => { ctx.set(k, Uint8Array.from(v)); },
    ...noKeyValue('none in this test'), ...systemClockCalls,
    log: (_level: LogLevel, msg: string) => { logs.push(msg); },
  };
}
const info = { requestId: 'r1', attempt: 1, route: 'main' };
const bytes = (s: string) => new TextEncoder().encode(s);

describe('an AssemblyScript plugin outside the repository', () => {
  it('builds with `praxis-wasm build`, which prints the path it wrote in full, schema embedded', async () => {
    const dir = join(work, 'json-kit');
    await mkdir(join(dir, 'assembly'), { recursive: true });
    const sdk = relative(join(dir, 'assembly'), join(ROOT, 'sdk-assemblyscript', 'assembly'));
    await writeFile(join(dir, 'assembly', 'index.ts'), (await readFile(join(SOURCES, 'json-kit.as'), 'utf8')).replace('"SDK"', JSON.stringify(sdk)));
    await writeFile(join(dir, 'schema.json'), JSON.stringify({ type: 'object', additionalProperties: false, properties: {} }));
    const out = join(dir, 'dist', 'json-kit.wasm');
    const built = await cli(['build', dir, '--force']);
    expect(built.code, built.err).toBe(0);
    expect(built.out).toContain(`built assemblyscript json-kit -> ${out} (`);
    expect(built.out.trim().split('\n').at(-1)).toBe(out);
    const inspected = await cli(['inspect', out]);
    expect(inspected.code, inspected.err).toBe(0);
    expect(inspected.out).toContain('config schema (praxis:config-schema):\n{\n  "type": "object"');
  }, 180_000);

  it('writes JSON and sets and removes members, with the Rust SDK\'s names', async () => {
    const loaded = await loadComponent(join(work, 'json-kit', 'dist', 'json-kit.wasm'));
    const instance = await loaded.factory.instantiate();
    const host = testHost([]);
    expect((await instance.configure(host, '{}')).ok).toBe(true);
    const action: Action = await instance.onRequestHeaders(host, info, { method: 'GET', path: '/', authority: 'a', headers: [] });
    expect(action.tag).toBe('continue');
    const headers = Object.fromEntries(action.tag === 'continue' ? action.mutations?.setHeaders ?? [] : []);
    expect(headers).toEqual({
      'x-stringify': '{"model":"x\\"y","keep":[true,null,-3,0.5],"max_tokens":16}',
      'x-removed': '2',
      'x-built': '{"list":[false,null]}',
      'x-set': '{"model":"gpt-4","max_tokens":1}',
      'x-insert': '{"max_tokens":1, "model" : "m" }',
      'x-insert-empty': '{"k":1}',
      'x-remove': '{"a":1, "c":{"b":3}}',
      'x-remove-first': '{ "b":2}',
      'x-remove-dup': '{}',
      'x-member-raw': '{"a":[1, 2]}',
      'x-minify': '{"a b":[1,"x\\" y"],"c":{}}',
      'x-not-object': '(null)(null)',
    });
  });
});

describe('a Rust plugin outside the repository', () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(work, 'both-bodies');
    await mkdir(join(dir, 'src'), { recursive: true });
    await writeFile(join(dir, 'Cargo.toml'), [
      '[package]', 'name = "both-bodies"', 'version = "0.1.0"', 'edition = "2021"', 'publish = false', '',
      '[lib]', 'crate-type = ["cdylib"]', '',
      '[dependencies]', `praxis-filter = { path = ${JSON.stringify(join(ROOT, 'sdk-rust'))} }`, '',
      '[profile.release]', 'opt-level = "z"', 'lto = true', 'codegen-units = 1', 'panic = "abort"', 'strip = true', '',
    ].join('\n'));
    await cp(join(SOURCES, 'both-bodies.rs'), join(dir, 'src', 'lib.rs'));
  });

  it('collect_body keeps the request\'s chunks out of the response (one tag for both), and SubrequestError displays', async () => {
    const loaded = await loadComponent(await buildPlugin(dir, { force: true }));
    const instance = await loaded.factory.instantiate();
    const logs: string[] = [];
    const host = testHost(logs);
    expect((await instance.configure(host, '{}')).ok).toBe(true);
    const body = async (hook: 'onRequestBody' | 'onResponseBody', chunks: string[]) => {
      for (const [i, c] of chunks.entries()) await instance[hook](host, info, bytes(c), i === chunks.length - 1);
    };
    await body('onRequestBody', ['re', 'q', 'uest']);
    await body('onResponseBody', ['resp', 'onse']);
    expect(logs).toEqual(['request: request', 'sub-request failed: denied: host elsewhere.example not allowed', 'response: response']);
    // A response in one piece after a chunked request is the response alone too.
    logs.length = 0;
    const next = { ...info, requestId: 'r2' };
    const host2 = testHost(logs);
    await instance.onRequestBody(host2, next, bytes('a'), false);
    await instance.onRequestBody(host2, next, bytes('b'), true);
    await instance.onResponseBody(host2, next, bytes('whole'), true);
    expect(logs.filter((l) => !l.startsWith('sub-request'))).toEqual(['request: ab', 'response: whole']);
  }, 180_000);

  it('a crate without #![no_std] fails with a one-line hint', async () => {
    const lib = join(dir, 'src', 'lib.rs');
    await writeFile(lib, (await readFile(lib, 'utf8')).replace('#![no_std]\n', ''));
    const err = await buildPlugin(dir, { force: true }).then(() => undefined, (e: Error) => e.message);
    expect(err).toMatch(/duplicate lang item/);
    expect(err).toMatch(/\nhint: add #!\[no_std\] as the first line of src\/lib\.rs[^\n]*$/);
  }, 180_000);
});

describe('sdk-rust unit tests', () => {
  it('pass natively (json edits and writer, collect_body directions, SubrequestError Display)', async () => {
    const tc = await findRustToolchain(join(ROOT, 'sdk-rust'));
    const { stdout } = await promisify(execFile)(tc.cargo, [...tc.args, 'test', '--offline', '--lib', '--manifest-path', join(ROOT, 'sdk-rust', 'Cargo.toml')], {
      env: { ...process.env, ...tc.env, CARGO_TARGET_DIR: join(work, 'sdk-target') },
      maxBuffer: 16 << 20,
    });
    for (const name of ['collect_body_keeps_request_and_response_apart', 'subrequest_error_display', 'tree_edits_and_writer', 'spans_and_rewrites']) {
      expect(stdout).toMatch(new RegExp(`test [\\w:]*${name} \\.\\.\\. ok`));
    }
  }, 300_000);
});
