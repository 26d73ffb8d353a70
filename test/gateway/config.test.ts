/** Config errors name the key; plugin load failures stop the start naming the plugin. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile, validateConfig } from '../../runtime/config/load.ts';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { PluginLoadError } from '../../runtime/gateway/plugins.ts';
import { fixturePath, startTestGateway } from '../helpers/servers.ts';
import { configProblems as problems, testkit } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'praxis-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function base(): Record<string, unknown> {
  return {
    plugins: { x: { path: fixturePath('testkit') } },
    upstreams: { main: { endpoints: ['http://127.0.0.1:9'] } },
    routes: [{ name: 'r', upstream: 'main', filters: ['x'] }],
  };
}

describe('validateConfig names the key path', () => {
  it('accepts the base config', () => {
    expect(validateConfig(base()).routes[0]!.name).toBe('r');
  });

  it('unknown keys, at the top and nested', () => {
    expect(problems({ ...base(), bogus: 1 })).toContain('bogus: unknown key');
    const c = base();
    (c.plugins as Record<string, Record<string, unknown>>).x!.pool = { max: 2, maxx: 3 };
    expect(problems(c)).toContain('plugins.x.pool.maxx: unknown key (did you mean "max"?)');
  });

  it('wrong types', () => {
    const c = base();
    (c.plugins as Record<string, Record<string, unknown>>).x!.pool = { max: 'ten' };
    expect(problems(c).join('\n')).toMatch(/^plugins\.x\.pool\.max: /m);
    const r = base();
    (r.routes as Array<Record<string, unknown>>)[0]!.retries = 'twice';
    expect(problems(r).join('\n')).toMatch(/^routes\[0\]\.retries: /m);
  });

  it('routes that refer to a missing upstream or plugin', () => {
    const c = base();
    (c.routes as Array<Record<string, unknown>>).push({ name: 'r2', upstream: 'nowhere', filters: ['x', 'ghost'] });
    const p = problems(c);
    expect(p.some((m) => m.startsWith('routes[1].upstream:') && m.includes('"nowhere"'))).toBe(true);
    expect(p.some((m) => m.startsWith('routes[1].filters[1]:') && m.includes('"ghost"'))).toBe(true);
  });

  it('reports schema problems and broken references together, in one error', () => {
    const c = base();
    (c.plugins as Record<string, Record<string, unknown>>).x!.pool = { max: 0 };
    (c.routes as Array<Record<string, unknown>>).push({ name: 'r2', upstream: 'nowhere' });
    const p = problems(c);
    expect(p.some((m) => m.startsWith('plugins.x.pool.max:'))).toBe(true);
    expect(p.some((m) => m.startsWith('routes[1].upstream:'))).toBe(true);
  });

  it('a malformed sha256 pin', () => {
    const c = base();
    (c.plugins as Record<string, Record<string, unknown>>).x!.sha256 = 'abc123';
    expect(problems(c).join('\n')).toMatch(/^plugins\.x\.sha256: /m);
  });
});

describe('loadConfigFile', () => {
  it('bad YAML is reported with the file', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'routes: [\n  - name: r\n upstream: {');
    await expect(loadConfigFile(file)).rejects.toThrow(/not valid YAML/);
    await expect(loadConfigFile(file)).rejects.toThrow(file);
  });

  it('a YAML file with a bad key names its path; a good one resolves relative to its folder', async () => {
    const bad = join(dir, 'bad-key.yaml');
    writeFileSync(bad, 'upstreams:\n  main:\n    endpoints: ["http://127.0.0.1:9"]\nroutes:\n  - name: r\n    upstream: missing\n');
    await expect(loadConfigFile(bad)).rejects.toThrow(/routes\[0\]\.upstream: no upstream named "missing"/);
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'upstreams:\n  main:\n    endpoints: ["http://127.0.0.1:9"]\nroutes:\n  - name: r\n    upstream: main\n');
    expect((await loadConfigFile(good)).baseDir).toBe(dir);
  });
});

describe('startGateway refuses plugins that cannot load', () => {
  const upstreams = { main: { endpoints: ['http://127.0.0.1:9'] } };
  const config = (plugin: GatewayConfig['plugins']): GatewayConfig => ({ plugins: plugin, upstreams, routes: [{ name: 'r', upstream: 'main', filters: ['p'] }] });

  async function refusal(c: GatewayConfig): Promise<PluginLoadError> {
    try {
      const gw = await startTestGateway(c);
      await gw.close();
    } catch (err) {
      expect(err).toBeInstanceOf(PluginLoadError);
      return err as PluginLoadError;
    }
    throw new Error('expected the gateway to refuse to start');
  }

  it('a sha256 pin that does not match', async () => {
    const err = await refusal(config({ p: testkit({}, { sha256: '0'.repeat(64) }) }));
    expect(err.plugin).toBe('p');
    expect(err.message).toContain('plugin "p"');
    expect(err.message).toMatch(/sha256/i);
  });

  it('a missing .wasm file', async () => {
    const err = await refusal(config({ p: { path: join(dir, 'nope.wasm') } }));
    expect(err.plugin).toBe('p');
    expect(err.message).toContain('plugin "p"');
    expect(err.message).toMatch(/nope\.wasm|ENOENT|not found|no such file/i);
  });

  it('a configure that fails', async () => {
    const err = await refusal(config({ p: testkit({ failConfigure: 'missing api key' }) }));
    expect(err.plugin).toBe('p');
    expect(err.message).toContain('plugin "p"');
    expect(err.message).toContain('missing api key');
  });
});
