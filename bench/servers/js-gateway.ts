/** The three-filter chain as plain-JS filters, in a gateway wired by hand as startGateway wires one. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { handleExchange } from '../../runtime/gateway/exchange.ts';
import { DEFAULT_PATH_POLICY } from '../../runtime/gateway/paths.ts';
import { RouteTable } from '../../runtime/gateway/routes.ts';
import type { GatewayState } from '../../runtime/gateway/state.ts';
import { Upstreams } from '../../runtime/gateway/upstreams.ts';
import type { ChainFilter } from '../../runtime/pipeline/filter.ts';
import { HookInvoker } from '../../runtime/pipeline/invoke.ts';
import { Pipeline } from '../../runtime/pipeline/pipeline.ts';
import { DEFAULT_POOL_LIMITS, PluginPool } from '../../runtime/pool/plugin-pool.ts';
import { SubrequestBridge } from '../../runtime/subrequest/index.ts';
import { jsFactory } from '../js-filters.ts';
import { FILTER_CONFIGS, FILTER_NAMES as NAMES, chainRoute as route } from './filter-chain.ts';
import { noKeyValue } from '../../runtime/keyvalue/no-store.ts';
import { systemClockCalls } from '../../runtime/component/host-clock.ts';

/** A gateway wired by hand (as startGateway does) around plain-JS filters. */
export async function startJsGateway(upstream: string): Promise<{ url: string; close: () => Promise<void> }> {
  const logger = pino({ level: 'silent' });
  const filters: ChainFilter[] = [];
  for (const name of NAMES) {
    const pool = await PluginPool.create(name, jsFactory(name), JSON.stringify(FILTER_CONFIGS[name]), DEFAULT_POOL_LIMITS, {
      httpSubrequest: async () => ({ ok: false, error: { tag: 'denied', reason: 'configure' } }),
      httpSubrequestAll: async (r) => r.map(() => ({ ok: false as const, error: { tag: 'denied' as const, reason: 'configure' } })),
      contextGet: () => undefined, contextSet: () => {}, log: () => {}, ...noKeyValue('none in this bench'), ...systemClockCalls,
    });
    filters.push({ name, pool, info: pool.info, failure: 'closed', subrequests: { plugin: name, allowedHosts: [], maxInFlight: 64 } });
  }
  const bridge = new SubrequestBridge({ logger });
  const upstreams = new Upstreams({ main: { endpoints: [upstream] } }, { connectTimeoutMs: 2000 });
  const routes = new RouteTable([route([...NAMES])], DEFAULT_PATH_POLICY);
  const state: GatewayState = {
    logger, accessLog: logger.child({ log: 'access' }), routes, paths: DEFAULT_PATH_POLICY,
    pipelines: new Map([['main', new Pipeline(filters, new HookInvoker(bridge))]]), upstreams, bridge, maxDepth: 4,
  };
  const server = createServer({ keepAlive: true, requestTimeout: 0 }, (req, res) => {
    handleExchange(state, req, res).catch(() => { if (!res.headersSent) res.writeHead(500).end(); else res.destroy(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await Promise.all([...filters.map((f) => f.pool.close()), bridge.close(), upstreams.close()]);
    },
  };
}

