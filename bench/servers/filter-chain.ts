/** The benchmark's three-filter chain (header-router, request-headers, deny-list) and its gateway configs. */
import { fileURLToPath } from 'node:url';
import type { GatewayConfig, RouteConfig } from '../../runtime/config/types.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const FILTER_CONFIGS = {
  'header-router': { routes: { 'gpt-4': 'main', 'llama-3': 'main' }, default: 'main' },
  'request-headers': { set: { 'x-praxis': '1' }, remove: ['x-drop'], requestId: 'x-request-id', serverTiming: true },
  'deny-list': { patterns: ['ignore previous instructions', 'jailbreak'], maxBytes: 65536 },
} as const;
export type FilterName = keyof typeof FILTER_CONFIGS;
export const FILTER_NAMES = Object.keys(FILTER_CONFIGS) as FilterName[];

export function chainRoute(filters: string[]): RouteConfig {
  return { name: 'main', upstream: 'main', filters };
}

/** A gateway on `port` (0: any) in front of `upstream`, with the wasm chain or no filters. */
export function wasmConfig(upstream: string, filters: boolean, port = 0): GatewayConfig {
  return {
    listen: { host: '127.0.0.1', port },
    plugins: filters
      ? Object.fromEntries(FILTER_NAMES.map((n) => [n, { path: `${ROOT}plugins/${n}/dist/${n}.wasm`, config: FILTER_CONFIGS[n] }]))
      : {},
    upstreams: { main: { endpoints: [upstream] } },
    routes: [chainRoute(filters ? [...FILTER_NAMES] : [])],
    log: { level: 'silent' },
  };
}
