/** Small builders shared by the gateway end-to-end suites. */
import { expect } from 'vitest';
import { ConfigError, validateConfig } from '../../runtime/config/load.ts';
import type { GatewayConfig, PluginConfig, RouteConfig } from '../../runtime/config/types.ts';
import { fixturePath, type LogLine } from '../helpers/servers.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until it holds, or throws naming `what` after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A testkit plugin entry whose JSON config is `config` (the filter's `name` defaults to "testkit"). */
export function testkit(config: Record<string, unknown>, extra: Partial<PluginConfig> = {}): PluginConfig {
  return { path: fixturePath('testkit'), config, ...extra };
}

/** One route `main` over `upstream` with `filters` in order. */
export function oneRoute(
  plugins: Record<string, PluginConfig>,
  filters: string[],
  upstreams: Record<string, string>,
  route: Partial<RouteConfig> = {},
): GatewayConfig {
  const ups: GatewayConfig['upstreams'] = {};
  for (const [k, url] of Object.entries(upstreams)) ups[k] = { endpoints: [url] };
  return {
    plugins,
    upstreams: ups,
    routes: [{ name: 'main', upstream: Object.keys(upstreams)[0]!, filters, ...route }],
  };
}

/** Guest log lines (`log.info` from a filter) whose message starts with `prefix`. */
export function guestLines(logs: LogLine[], prefix: string): LogLine[] {
  return logs.filter((l) => l.guest === true && typeof l.msg === 'string' && l.msg.startsWith(prefix));
}

/** Parses a gateway JSON error body. */
export function jsonError(text: string): { type: string; message: string; plugin?: string; hook?: string; limit?: number } {
  return (JSON.parse(text) as { error: { type: string; message: string; plugin?: string; hook?: string; limit?: number } }).error;
}

/** The problems `validateConfig` reports for a config it must refuse (each names its key path). */
export function configProblems(value: unknown): string[] {
  try {
    validateConfig(value);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the config to be refused');
}
