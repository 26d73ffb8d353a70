/** The library face of praxis-wasm. */
export { startGateway } from './gateway/gateway.ts';
export type { Gateway, StartOptions } from './gateway/gateway.ts';
export { loadConfigFile, validateConfig, ConfigError } from './config/load.ts';
export type { GatewayConfig, PluginConfig, RouteConfig, UpstreamConfig } from './config/types.ts';
export { loadComponent } from './component/loader.ts';
export type { LoadOptions, LoadedComponent } from './component/loader.ts';
export { ComponentLoadError, GuestTrap } from './component/errors.ts';
export type * from './component/types.ts';
export { PluginPool } from './pool/plugin-pool.ts';
export { SubrequestBridge } from './subrequest/index.ts';
