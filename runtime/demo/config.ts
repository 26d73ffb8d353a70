/** The built-in demo: the bundled example plugins in front of two demo upstreams. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewayConfig } from '../config/types.ts';
import { packageRoot } from '../package-root.ts';

export const DEMO_PLUGINS = ['request-headers', 'header-router', 'deny-list'] as const;

/** A bundled plugin's source folder (in the repository; an installed package ships only its dist/). */
export function demoPluginDir(name: string): string {
  return join(packageRoot(), 'plugins', name);
}

/** A bundled plugin's component: built in the repository, shipped prebuilt in the package. */
export function demoPluginPath(name: string): string {
  return join(demoPluginDir(name), 'dist', `${name}.wasm`);
}

export function missingDemoPlugins(): string[] {
  return DEMO_PLUGINS.filter((p) => !existsSync(demoPluginPath(p)));
}

/** Sources to build the missing plugins from exist only in a checkout, not in an installed package. */
export function canBuildDemoPlugins(): boolean {
  return DEMO_PLUGINS.every((p) => existsSync(join(demoPluginDir(p), 'assembly')) || existsSync(join(demoPluginDir(p), 'Cargo.toml')));
}

/** `adminPort`: where `/healthz`, `/readyz`, `/config`, `/plugins` and `/metrics` answer (0: any free port). */
export function demoConfig(upstreamA: string, upstreamB: string, port: number, adminPort = 0): GatewayConfig {
  return {
    listen: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort },
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
