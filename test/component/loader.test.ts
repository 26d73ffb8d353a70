/** Loading components: each kind of bad input gets its own precise error; good ones load on both bindings. */
import { readFileSync } from 'node:fs';
import { parse } from '@bytecodealliance/jco';
import { describe, expect, it } from 'vitest';
import { ComponentLoadError } from '../../runtime/component/errors.ts';
import { loadComponent } from '../../runtime/component/loader.ts';
import { coreModulesOfComponent } from '../../runtime/component/wasm-binary.ts';
import { fixturePath, pluginPath, ROOT } from '../helpers/servers.ts';

const testkit = () => new Uint8Array(readFileSync(fixturePath('testkit')));
const cacheDir = `${ROOT}.praxis-cache`;

async function loadError(source: string | Uint8Array, opts = {}): Promise<ComponentLoadError> {
  try {
    await loadComponent(source, { cacheDir, ...opts });
  } catch (err) {
    expect(err).toBeInstanceOf(ComponentLoadError);
    return err as ComponentLoadError;
  }
  throw new Error('expected the load to fail');
}

describe('loadComponent', () => {
  it('refuses random bytes as not WebAssembly', async () => {
    const bytes = new Uint8Array(256).map((_, i) => (i * 7919) & 0xff);
    const err = await loadError(bytes);
    expect(err.code).toBe('not-wasm');
    expect(err.message).toMatch(/not a WebAssembly binary/);
  });

  it('refuses a truncated component and says so', async () => {
    const bytes = testkit();
    const err = await loadError(bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect(err.code).toBe('truncated');
    expect(err.message).toMatch(/truncated/);
  });

  it('refuses a file shorter than a header', async () => {
    expect((await loadError(new Uint8Array([0, 0x61, 0x73]))).code).toBe('truncated');
  });

  it('refuses a core module, pointing at the build step', async () => {
    const core = coreModulesOfComponent(testkit())[0]!;
    const err = await loadError(new Uint8Array(core));
    expect(err.code).toBe('core-module');
    expect(err.message).toMatch(/praxis-wasm build/);
  });

  it('refuses a component of another world, naming what it exports', async () => {
    const { componentEmbed, componentNew } = await import('@bytecodealliance/jco');
    const wit = 'package other:thing@1.0.0;\ninterface run { go: func() -> u32; }\nworld other { export run; }\n';
    const core = await parse('(module)');
    const component = await componentNew(await componentEmbed({ binary: core, witSource: wit, world: 'other', dummy: true }), []);
    const err = await loadError(component);
    expect(err.code).toBe('wrong-world');
    expect(err.message).toContain('other:thing/run@1.0.0');
    expect(err.message).toContain('praxis:filter/filter@0.2.0');
  });

  it('refuses a component whose filter export is missing (imports only)', async () => {
    const { componentEmbed, componentNew } = await import('@bytecodealliance/jco');
    const wit = readFileSync(`${ROOT}wit/praxis.wit`, 'utf8').replace(/export filter;/, '');
    const core = await parse('(module)');
    const component = await componentNew(await componentEmbed({ binary: core, witSource: wit, world: 'plugin', dummy: true }), []);
    const err = await loadError(component);
    expect(err.code).toBe('wrong-world');
  });

  it('refuses a corrupted section body as an invalid core module', async () => {
    const bytes = testkit().slice();
    // Scribble over the middle of the guest's code: sizes still fit, contents do not.
    for (let i = 2000; i < 2400; i++) bytes[i] = 0xff;
    const err = await loadError(bytes);
    expect(err.code).toBe('invalid-module');
    expect(err.message).toMatch(/core module 0 of the component is not valid WebAssembly: /);
  });

  it('refuses a missing file with the path and the reason', async () => {
    const err = await loadError('/nonexistent/plugin.wasm');
    expect(err.code).toBe('io');
    expect(err.message).toContain('/nonexistent/plugin.wasm');
    expect(err.message).toContain('ENOENT');
  });

  it('checks a sha256 pin', async () => {
    const err = await loadError(fixturePath('testkit'), { sha256: 'ab'.repeat(32) });
    expect(err.message).toMatch(/sha256 mismatch/);
  });

  it('takes the fast path for SDK-built components and the jco glue when asked', async () => {
    for (const path of [fixturePath('testkit'), pluginPath('header-router-rust')]) {
      const fast = await loadComponent(path, { cacheDir });
      expect(fast.factory.binding).toBe('fast');
      expect(fast.unboundedLoops).toBeUndefined();
      const jco = await loadComponent(path, { cacheDir, binding: 'jco' });
      expect(jco.factory.binding).toBe('jco');
      expect(jco.unboundedLoops).toBeUndefined();
    }
  });

  it('refuses a memory ceiling below what the guest starts with', async () => {
    const err = await loadError(pluginPath('header-router-rust'), { memoryLimitBytes: 65536 });
    expect(err.code).toBe('memory-limit');
    expect(err.message).toMatch(/above its ceiling/);
  });
});
