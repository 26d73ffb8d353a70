/**
 * Live reload of an in-process gateway (real loopback upstream, real testkit components): under
 * load, failed reloads, an exchange in flight across a reload, keys that need a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { configFromFile } from '../../runtime/cli/reload-signal.ts';
import { loadConfigFile } from '../../runtime/config/load.ts';
import { fixturePath, startEchoUpstream, startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { oneRoute, sleep, until } from '../gateway/helpers.ts';
import { ask, startLoad, versioned, writeYaml } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'praxis-reload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LISTEN = { listen: { host: '127.0.0.1', port: 0 } };
let gw: TestGateway | undefined;
const servers: TestServer[] = [];
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function metric(name: string): Promise<number> {
  const line = (await gw!.metrics()).split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').pop()) : NaN;
}

describe('reload', () => {
  it('20 reloads under load: not one failed request, each exchange on one version, the last version answers after', async () => {
    const up = await startEchoUpstream();
    servers.push(up);
    gw = await startTestGateway(versioned('v0', up.url));
    const load = startLoad(`${gw.url}/x`);
    let notReady = 0;
    for (let i = 1; i <= 20; i++) {
      const reloading = gw.reload({ ...versioned(`v${i}`, up.url), ...LISTEN });
      while (await Promise.race([reloading.then(() => false), sleep(2).then(() => true)])) if (!gw.readiness().ready) notReady++;
      const outcome = await reloading;
      expect(outcome).toMatchObject({ ok: true, version: i + 1, needsRestart: [], changes: { pluginsChanged: ['mark'] } });
      await sleep(20);
    }
    const result = await load.stop();
    expect(result.failed).toEqual([]);
    expect(result.ok).toBeGreaterThan(40);
    expect(result.versions.size).toBeGreaterThan(2);
    expect(notReady).toBe(0);
    expect(await ask(`${gw.url}/x`)).toEqual({ status: 200, version: 'v20', out: 'v20' });
    expect(gw.configVersion()).toBe(21);
    expect(await metric('praxis_config_version')).toBe(21);
    expect(await metric('praxis_config_reloads_total{outcome="success"}')).toBe(20);
    // Every replaced version drained and closed its pool.
    await until(() => gw!.logs.filter((l) => /drained and closed/.test(l.msg)).length === 20, 'the old versions to close');
  });

  it('a reload that fails (bad YAML, unknown key, missing plugin file, sha256 mismatch) changes nothing', async () => {
    const up = await startEchoUpstream();
    servers.push(up);
    gw = await startTestGateway(versioned('a', up.url));
    const good = { ...versioned('b', up.url), ...LISTEN };
    const cases: Array<[string, unknown, RegExp]> = [
      ['bad-yaml.yaml', 'routes: [\n  - name: main\n    upstream: "up\n', /invalid config|YAML|yaml/i],
      ['unknown-key.yaml', { ...good, colour: 'blue' }, /colour/],
      ['missing.yaml', { ...good, plugins: { mark: { ...good.plugins!.mark, path: join(dir, 'absent.wasm') } } }, /plugin "mark"/],
      ['pinned.yaml', { ...good, plugins: { mark: { ...good.plugins!.mark, sha256: '0'.repeat(64) } } }, /plugin "mark".*sha256|sha256.*plugin "mark"/s],
    ];
    for (const [name, content, why] of cases) {
      const outcome = await gw.reload(configFromFile(writeYaml(dir, name, content)));
      expect(outcome.ok, name).toBe(false);
      if (!outcome.ok) expect(outcome.error, name).toMatch(why);
      expect(await ask(`${gw.url}/x`), name).toEqual({ status: 200, version: 'a', out: 'a' });
      expect(gw.readiness().ready).toBe(true);
    }
    expect(gw.configVersion()).toBe(1);
    expect(await metric('praxis_config_reloads_total{outcome="error"}')).toBe(4);
    expect(gw.logs.filter((l) => l.level === 50 && /config reload failed, version 1 keeps serving/.test(l.msg))).toHaveLength(4);
    // The same gateway still takes a good reload afterwards.
    expect((await gw.reload(configFromFile(writeYaml(dir, 'good.yaml', good)))).ok).toBe(true);
    expect(await ask(`${gw.url}/x`)).toEqual({ status: 200, version: 'b', out: 'b' });
  });

  it('an exchange in flight finishes on the version it started on; its pool closes only after it', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => { release = r; });
    const up = await startServer(async (req, res) => {
      if (req.url === '/slow') await gate;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ headers: req.headers }));
    });
    servers.push(up);
    gw = await startTestGateway(versioned('old', up.url));
    const slow = ask(`${gw.url}/slow`);
    await until(() => up.seen.some((s) => s.url === '/slow'), 'the slow request to reach the upstream');
    expect((await gw.reload({ ...versioned('new', up.url), ...LISTEN })).ok).toBe(true);
    expect(await ask(`${gw.url}/fast`)).toEqual({ status: 200, version: 'new', out: 'new' });
    await sleep(100);
    expect(gw.logs.some((l) => /version 1 drained and closed/.test(l.msg))).toBe(false);
    release();
    // Request AND response hooks of the old version: the response hook ran after the swap.
    expect(await slow).toEqual({ status: 200, version: 'old', out: 'old' });
    await until(() => gw!.logs.some((l) => /version 1 drained and closed/.test(l.msg)), 'the old version to close');
  });

  it('an unchanged plugin keeps its pool; keys that need a restart are reported and not applied', async () => {
    const up = await startEchoUpstream();
    servers.push(up);
    gw = await startTestGateway(versioned('a', up.url));
    const created = gw.poolStats()[0]!.created;
    const next: GatewayConfig = { ...versioned('a', up.url), listen: { host: '127.0.0.1', port: gw.port + 1 } };
    next.routes = [{ ...next.routes[0]!, timeoutMs: 5000 }];
    const outcome = await gw.reload(next);
    expect(outcome).toMatchObject({ ok: true, version: 2, needsRestart: ['listen'], changes: { pluginsKept: ['mark'], pluginsChanged: [], routesChanged: ['main'] } });
    expect(gw.poolStats()[0]!.created).toBe(created);
    expect(await ask(`${gw.url}/x`)).toEqual({ status: 200, version: 'a', out: 'a' });
    expect(gw.logs.some((l) => l.level === 40 && /listen changed but apply only on restart/.test(l.msg))).toBe(true);
    // The kept pool is still the live one after the old version drained.
    await until(() => gw!.logs.some((l) => /version 1 drained and closed/.test(l.msg)), 'the old version to close');
    expect(await ask(`${gw.url}/x`)).toEqual({ status: 200, version: 'a', out: 'a' });
  });

  it('the key-value store outlives a reload: a reloaded plugin reads what its old version wrote', async () => {
    const probe = (pool: { max: number }): GatewayConfig => ({ ...oneRoute({ probe: { path: fixturePath('kv-probe'), pool } }, ['probe'], { up: 'http://127.0.0.1:9' }), ...LISTEN });
    gw = await startTestGateway(probe({ max: 4 }));
    const counter = async () => (await (await fetch(`${gw!.url}/`)).text()).trim().split('\n');
    expect(await counter()).toEqual(['get=none', 'incr=1']);
    expect(await counter()).toEqual(['get=1', 'incr=2']);
    expect(await gw.reload(probe({ max: 8 }))).toMatchObject({ ok: true, changes: { pluginsChanged: ['probe'] } });
    expect(await counter()).toEqual(['get=2', 'incr=3']);
  });

  it('the reload block: watch and debounceMs are accepted; a bad value is refused naming the key', async () => {
    const base = versioned('a', 'http://127.0.0.1:9');
    const ok = await loadConfigFile(writeYaml(dir, 'reload-ok.yaml', { ...base, reload: { watch: true, debounceMs: 50 } }));
    expect(ok.config.reload).toEqual({ watch: true, debounceMs: 50 });
    await expect(loadConfigFile(writeYaml(dir, 'reload-bad.yaml', { ...base, reload: { debounceMs: -1 } }))).rejects.toThrow(/reload\.debounceMs/);
  });
});
