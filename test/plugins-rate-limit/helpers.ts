/** Gateways with one rate-limit (or token-budget) filter in front of a loopback upstream; the shipped examples. */
import { resolve } from 'node:path';
import { request } from 'undici';
import { loadConfigFile } from '../../runtime/config/load.ts';
import type { GatewayConfig, KeyValueConfig } from '../../runtime/config/types.ts';
import { pluginPath, ROOT } from '../helpers/servers.ts';

export function limitedGateway(plugin: string, config: Record<string, unknown>, upstream: string, keyvalue?: KeyValueConfig): GatewayConfig {
  return {
    plugins: { [plugin]: { path: pluginPath(plugin), config } },
    upstreams: { up: { endpoints: [upstream] } },
    routes: [{ name: 'main', match: { pathPrefix: '/' }, upstream: 'up', filters: [plugin] }],
    ...(keyvalue ? { keyvalue } : {}),
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export async function send(url: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const res = await request(url, { method: body === undefined ? 'GET' : 'POST', headers, body: body ?? null });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** The statuses of `n` requests sent one after another. */
export async function statuses(url: string, n: number, headers: Record<string, string> = {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send(url, headers)).status);
  return out;
}

/** examples/<name>.yaml as shipped, its plugin paths resolved and every upstream sent to `upstream`. */
export async function exampleConfig(name: string, upstream: string): Promise<GatewayConfig> {
  const { config, baseDir } = await loadConfigFile(`${ROOT}examples/${name}.yaml`);
  for (const p of Object.values(config.plugins ?? {})) p.path = resolve(baseDir, p.path);
  for (const u of Object.values(config.upstreams)) if (u.endpoints) u.endpoints = [upstream];
  return config;
}
