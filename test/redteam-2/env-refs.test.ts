/**
 * `${NAME}` strings in plugin config: the host resolves them for the plugin, and the values never
 * come back out: not in `/config` or `/plugins`, not in the gateway's logs, not in an error body,
 * not in a failed reload's error (a value failing the plugin's schema, an unset variable).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { pluginPath, startEchoUpstream, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { testkit } from '../gateway/helpers.ts';

const SECRETS = { RT2_SECRET_A: 'sekrit-aaa-41d8cd98', RT2_SECRET_B: 'sekrit-bbb-00b204e9', RT2_SECRET_C: 'sekrit-ccc-800998ec' };
let upstream: TestServer;
let gw: TestGateway & { adminUrl?: string };

function config(extra: GatewayConfig['plugins'] = {}): GatewayConfig {
  return {
    plugins: {
      envy: testkit({ name: 'envy', note: '${RT2_SECRET_A}', apiKey: '${RT2_SECRET_B}', list: ['${RT2_SECRET_C}'], trapIfHeader: 'x-trap' }, { failure: 'closed' }),
      ...extra,
    },
    upstreams: { up: { endpoints: [upstream.url] } },
    routes: [{ name: 'r', upstream: 'up', filters: ['envy'] }],
    admin: { host: '127.0.0.1', port: 0 },
  };
}

const leaks = (text: string) => Object.values(SECRETS).filter((s) => text.includes(s));

beforeAll(async () => {
  Object.assign(process.env, SECRETS);
  upstream = await startEchoUpstream();
  gw = await startTestGateway(config());
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  for (const k of Object.keys(SECRETS)) delete process.env[k];
});

describe('${ENV} values in plugin config', () => {
  it('are not shown by /config or /plugins (the reference is), nor written to any log line', async () => {
    const shown = await (await fetch(`${gw.adminUrl}/config`)).text();
    expect(leaks(shown)).toEqual([]);
    expect(shown).toContain('${RT2_SECRET_A}');
    expect(leaks(await (await fetch(`${gw.adminUrl}/plugins`)).text())).toEqual([]);
    const trapped = await fetch(`${gw.url}/x`, { headers: { 'x-trap': '1' } });
    expect(trapped.status).toBe(500);
    expect(leaks(await trapped.text())).toEqual([]);
    expect(leaks(JSON.stringify(gw.logs))).toEqual([]);
  });

  it('a reload refused for a value that fails the plugin\'s schema, or an unset variable, names the key, never a value', async () => {
    const bad = await gw.reload(config({ rl: { path: pluginPath('rate-limit'), config: { limit: '${RT2_SECRET_A}', keyFrom: '${RT2_SECRET_B}' } } }));
    expect(bad.ok).toBe(false);
    expect(bad.ok ? '' : bad.error).toMatch(/plugins\.rl\.config/);
    expect(leaks(bad.ok ? '' : bad.error)).toEqual([]);
    const unset = await gw.reload(config({ rl: { path: pluginPath('rate-limit'), config: { limit: 5, keyFrom: '${RT2_NOT_SET_ANYWHERE}' } } }));
    expect(unset.ok ? '' : unset.error).toMatch(/plugins\.rl\.config\.keyFrom: environment variable RT2_NOT_SET_ANYWHERE is not set/);
    expect(leaks(JSON.stringify(gw.logs))).toEqual([]);
  });

  it('a plugin that echoes a resolved value in its configure error: the host redacts it from the error and the log', async () => {
    const echo = await gw.reload(config({ echo: testkit({ name: 'echo', failConfigure: '${RT2_SECRET_C}' }) }));
    expect(echo.ok).toBe(false);
    const error = echo.ok ? '' : echo.error;
    expect(error).toMatch(/plugin "echo" failed to load/);
    expect(leaks(error)).toEqual([]);
    expect(error).toContain('${RT2_SECRET_C}');
    expect(leaks(JSON.stringify(gw.logs))).toEqual([]);
  });
});
