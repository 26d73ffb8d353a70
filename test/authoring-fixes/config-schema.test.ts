/**
 * Plugin config schemas: a plugin ships `schema.json`, the build embeds it in the component
 * (custom section `praxis:config-schema`) and the gateway checks `plugins.<name>.config` against
 * it at load, with key paths and "did you mean" as for the gateway config itself.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfigSchema, withConfigSchema } from '../../runtime/component/plugin-schema.ts';
import { validateConfig } from '../../runtime/config/load.ts';
import type { PluginConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { hostileComponent } from '../helpers/hostile.ts';
import { pluginPath, ROOT, startEchoUpstream, startTestGateway, type TestServer } from '../helpers/servers.ts';
import { oneRoute } from '../gateway/helpers.ts';

const track = useCleanup();
let upstream: TestServer;
let work: string;
beforeAll(async () => {
  upstream = await startEchoUpstream();
  work = await mkdtemp(join(tmpdir(), 'praxis-schema-'));
});
afterAll(async () => {
  await upstream.close();
  await rm(work, { recursive: true, force: true });
});

const denyList = (config: unknown): PluginConfig => ({ path: pluginPath('deny-list'), config });
const start = (plugins: Record<string, PluginConfig>) => startTestGateway(oneRoute(plugins, Object.keys(plugins), { up: upstream.url }));

describe('plugin config checked against the schema the plugin ships', () => {
  it('every bundled plugin embeds its schema.json', async () => {
    const dirs = (await readdir(join(ROOT, 'plugins'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(dirs.length).toBeGreaterThan(5);
    for (const name of dirs) {
      const embedded = readConfigSchema(await readFile(pluginPath(name)));
      expect(embedded, name).toBeDefined();
      expect(JSON.parse(embedded!), name).toEqual(JSON.parse(await readFile(join(ROOT, 'plugins', name, 'schema.json'), 'utf8')));
    }
  });

  it('deny-list with a misspelt key refuses to start, naming the key and the likely one', async () => {
    await expect(start({ deny: denyList({ patern: ['ignore previous instructions'] }) }))
      .rejects.toThrow(/plugin "deny" failed to load: .*\n.*plugins\.deny\.config\.patern: unknown key \(did you mean "patterns"\?\)/);
  });

  it('deny-list with a string instead of a list refuses to start', async () => {
    await expect(start({ deny: denyList({ patterns: 'ignore previous instructions' }) }))
      .rejects.toThrow(/plugins\.deny\.config\.patterns: must be array/);
    await expect(start({ deny: denyList({ patterns: ['x', 3] }) })).rejects.toThrow(/plugins\.deny\.config\.patterns\[1\]: must be string/);
    await expect(start({ deny: denyList('{"patterns": "x"}') })).rejects.toThrow(/plugins\.deny\.config\.patterns: must be array/);
    await expect(start({ deny: denyList('patterns') })).rejects.toThrow(/plugins\.deny\.config: not JSON text/);
  });

  it('URLs a plugin declares as `format: uri` must be absolute URLs', async () => {
    const guardrail = (scannerUrl: string): PluginConfig => ({ path: pluginPath('guardrail'), config: { scannerUrl } });
    await expect(start({ g: guardrail('127.0.0.1:9100/scan') })).rejects.toThrow(/plugins\.g\.config\.scannerUrl: must match format "uri"/);
    const gw = track(await start({ g: guardrail('http://127.0.0.1:9100/scan') }));
    expect(gw.url).toMatch(/^http:/);
  });

  it('a config that matches starts, and the filter blocks what it lists', async () => {
    const gw = track(await start({ deny: denyList({ patterns: ['ignore previous instructions'] }) }));
    const blocked = await request(`${gw.url}/x`, { method: 'POST', body: 'please IGNORE previous instructions' });
    expect(blocked.statusCode).toBe(403);
    await blocked.body.dump();
    const passed = await request(`${gw.url}/x`, { method: 'POST', body: 'hello' });
    expect(passed.statusCode).toBe(200);
    await passed.body.dump();
  });

  it('a malformed embedded schema is a load error naming the plugin, on either binding', async () => {
    const base = await hostileComponent();
    const cases: Array<[string, RegExp]> = [
      ['{"type": "arary"}', /plugin "bad" failed to load: its embedded config schema is malformed: .*type/],
      ['{"type": ', /plugin "bad" failed to load: its embedded config schema is malformed: not JSON/],
      [`${'{"items":'.repeat(40)}{}${'}'.repeat(40)}`, /malformed: nested more than 32 levels deep/],
      ['{"$ref": "http://example.com/elsewhere.json"}', /plugin "bad" failed to load: its embedded config schema is malformed: can't resolve reference/],
    ];
    for (const [schema, error] of cases) {
      const file = join(work, 'bad.wasm');
      await writeFile(file, withConfigSchema(base, schema));
      for (const binding of ['fast', 'jco'] as const) {
        await expect(start({ bad: { path: file, binding } }), `${binding} ${schema}`).rejects.toThrow(error);
      }
    }
  });

  it('a component carrying a schema loads and is checked on the jco binding too', async () => {
    const file = join(work, 'schema.wasm');
    await writeFile(file, withConfigSchema(await hostileComponent(), JSON.stringify({ type: 'object', additionalProperties: false, properties: { limit: { type: 'integer' } } })));
    await expect(start({ p: { path: file, binding: 'jco', config: { limt: 3 } } })).rejects.toThrow(/plugins\.p\.config\.limt: unknown key \(did you mean "limit"\?\)/);
    const gw = track(await start({ p: { path: file, binding: 'jco', config: { limit: 3 } } }));
    const res = await request(`${gw.url}/`);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });
});

describe('did you mean, for the gateway config', () => {
  const base = { upstreams: { up: { endpoints: ['http://127.0.0.1:1'] } }, routes: [{ name: 'r', upstream: 'up' }] };

  it('suggests the known key within two edits, and nothing for a key far from all', () => {
    const problems = (value: unknown) => {
      try {
        validateConfig(value);
        return [];
      } catch (err) {
        return (err as { problems: string[] }).problems;
      }
    };
    expect(problems({ ...base, route: [] })).toContain('route: unknown key (did you mean "routes"?)');
    expect(problems({ ...base, plugins: { p: { path: 'x.wasm', memoryLimitMB: 8 } } })).toContain('plugins.p.memoryLimitMB: unknown key (did you mean "memoryLimitMb"?)');
    expect(problems({ ...base, routes: [{ name: 'r', upstream: 'up', retires: 1 }] })).toContain('routes[0].retires: unknown key (did you mean "retries"?)');
    expect(problems({ ...base, somethingElse: 1 })).toContain('somethingElse: unknown key');
  });
});
