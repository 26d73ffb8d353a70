/**
 * World versions: components built against praxis:filter@0.1.0 (kept as built, in
 * test/fixtures/compat-0.1.0) run beside 0.2.0 ones in one gateway; a version this host does not
 * run, or imports of another version than the filter's, are refused at load with a precise error.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '@bytecodealliance/jco';
import { describe, expect, it } from 'vitest';
import { WIT_PATH, componentize } from '../../runtime/build/componentize.ts';
import { ComponentLoadError } from '../../runtime/component/errors.ts';
import { loadComponent } from '../../runtime/component/loader.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { hostileWat } from '../helpers/hostile.ts';
import { ROOT, fixturePath, startEchoUpstream, startTestGateway } from '../helpers/servers.ts';
import { oneRoute, testkit } from '../gateway/helpers.ts';

const track = useCleanup();
const COMPAT_AS = `${ROOT}test/fixtures/compat-0.1.0/header-router.wasm`;
const COMPAT_RUST = `${ROOT}test/fixtures/compat-0.1.0/header-router-rust.wasm`;

/** A component whose WIT is wit/praxis.wit with its package line set to `version`, around `wat`. */
async function componentOfVersion(version: string, wat: string): Promise<Uint8Array> {
  const wit = (await readFile(WIT_PATH, 'utf8')).replace(/^package praxis:filter@[^;]+;/m, `package praxis:filter@${version};`);
  const path = join(await mkdtemp(join(tmpdir(), 'praxis-wit-')), 'praxis.wit');
  await writeFile(path, wit);
  return componentize(await parse(wat), path);
}

async function loadError(bytes: Uint8Array): Promise<ComponentLoadError> {
  const err = await loadComponent(bytes).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ComponentLoadError);
  return err as ComponentLoadError;
}

describe('praxis:filter versions', () => {
  it('the kept 0.1.0 components load as 0.1.0 on both bindings', async () => {
    for (const path of [COMPAT_AS, COMPAT_RUST]) {
      for (const binding of ['fast', 'jco'] as const) {
        const loaded = await loadComponent(path, { binding, cacheDir: `${ROOT}.praxis-cache` });
        expect(loaded.version).toBe('0.1.0');
        expect(loaded.factory.binding).toBe(binding);
        expect(loaded.wit).not.toContain('keyvalue');
      }
    }
    expect((await loadComponent(fixturePath('kv-rust'))).version).toBe('0.2.0');
  });

  it('0.1.0 components (AssemblyScript and Rust) run beside 0.2.0 ones using the store, in one gateway', async () => {
    const up = track(await startEchoUpstream());
    const router = { header: 'x-model', routes: { m: 'up' } };
    const gw = track(await startTestGateway(oneRoute({
      'router-as': { path: COMPAT_AS, config: router },
      'router-rust': { path: COMPAT_RUST, config: router },
      'kv-as': testkit({ kvHeader: 'x-kv-as' }),
      'kv-rust': { path: fixturePath('kv-rust') },
    }, ['router-as', 'router-rust', 'kv-as', 'kv-rust'], { up: up.url })));
    const send = async () => {
      const res = await fetch(`http://127.0.0.1:${gw.port}/v1`, { headers: { 'x-model': 'm', 'x-kv-as': 'incr,,hits,1', 'x-kv': 'incr,,hits,10' } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { headers: Record<string, string> }).headers;
    };
    await send();
    const seen = await send();
    expect(seen['x-praxis-route-model']).toBe('m'); // both 0.1.0 routers ran
    // The AssemblyScript guest's outcome is overwritten by the Rust one's (same header): each
    // counts in its own namespace, so the Rust guest's counter is at 20 after two requests.
    expect(seen['x-kv-result']).toBe('20');
  });

  it('a component of praxis:filter@0.3.0 is refused, naming the version and the ones this host runs', async () => {
    const wat = hostileWat({ version: '0.2.0' }).replaceAll('@0.2.0', '@0.3.0');
    const err = await loadError(await componentOfVersion('0.3.0', wat));
    expect(err.code).toBe('unsupported-version');
    expect(err.message).toContain('praxis:filter/filter@0.3.0');
    expect(err.message).toContain('praxis:filter 0.1.0, 0.2.0');
  });

  it('a 0.1.0 filter importing keyvalue (an interface 0.1.0 does not have) is refused', async () => {
    const wat = hostileWat({ version: '0.1.0', imports: '(import "praxis:filter/keyvalue@0.1.0" "get" (func $g (param i32 i32 i32 i32 i32)))', requestHeaders: '(call $g (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 3000))' });
    const err = await loadError(await componentOfVersion('0.1.0', wat));
    expect(err.code).toBe('forbidden-import');
    expect(err.message).toContain('praxis:filter/keyvalue@0.1.0');
    expect(err.message).toContain('a praxis:filter@0.1.0 filter may import only the praxis:filter@0.1.0 interfaces');
  });
});
