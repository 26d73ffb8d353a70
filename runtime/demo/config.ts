/** The built-in demo: the bundled example plugins in front of two demo upstreams. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GatewayConfig } from '../config/types.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEMO_PLUGINS = ['request-headers', 'header-router', 'deny-list'] as const;

export function demoPluginPath(name: string): string {
  return `${REPO_ROOT}plugins/${name}/dist/${name}.wasm`;
}

export function missingDemoPlugins(): string[] {
  return DEMO_PLUGINS.filter((p) => !existsSync(demoPluginPath(p)));
}

export function demoConfig(upstreamA: string, upstreamB: string, port: number): GatewayConfig {
  return {
    listen: { host: '127.0.0.1', port },
    plugins: {
      'request-headers': {
        path: demoPluginPath('request-headers'),
        config: { set: { 'x-praxis-demo': 'added by the request-headers filter' }, remove: ['x-remove-me'], requestId: 'x-request-id', serverTiming: true },
      },
      'header-router': {
        path: demoPluginPath('header-router'),
        config: { header: 'x-model', routes: { 'model-b': 'b' }, default: 'a', bodyField: 'model' },
      },
      'deny-list': {
        path: demoPluginPath('deny-list'),
        config: { patterns: ['ignore previous instructions'], caseInsensitive: true, maxBytes: 65536 },
      },
    },
    upstreams: { a: { endpoints: [upstreamA] }, b: { endpoints: [upstreamB] } },
    routes: [{ name: 'demo', match: { pathPrefix: '/' }, upstream: 'a', filters: ['request-headers', 'header-router', 'deny-list'], timeoutMs: 10_000 }],
  };
}
