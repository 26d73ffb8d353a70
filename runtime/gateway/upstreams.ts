/**
 * Upstreams: named sets of backends in priority groups (backends.ts), each upstream reached
 * through its own keep-alive undici Agent bounded by its timeouts, its endpoints watched by
 * passive health checking (passive-health.ts). A filter may pick the endpoint instead
 * (endpoint-pick.ts).
 */
import type { Agent } from 'undici';
import type { UpstreamConfig } from '../config/types.ts';
import { BackendSet, endpointOf, endpointUrlsOf } from './backends.ts';
import { PickPolicy, type PickResult, pickFromList } from './endpoint-pick.ts';
import { EndpointHealth, type HealthEvent } from './passive-health.ts';
import { upstreamAgent } from './upstream-agent.ts';

export type { Endpoint } from './endpoint-pick.ts';

interface Group {
  agent: Agent;
  picks: PickPolicy;
  backends: BackendSet;
  health: EndpointHealth;
}

export class Upstreams {
  private readonly groups = new Map<string, Group>();
  constructor(
    config: Record<string, UpstreamConfig>,
    opts: { connectTimeoutMs?: number; onEject?: (upstream: string, e: HealthEvent) => void } = {},
  ) {
    for (const [name, u] of Object.entries(config)) {
      const t = u.timeouts ?? {};
      const agent = upstreamAgent({
        keepAliveTimeout: 30_000,
        connections: 256,
        connect: { timeout: t.connectMs ?? opts.connectTimeoutMs ?? 2000 },
        // 0 (none) unless set: the route's timeoutMs bounds the head, its idleTimeoutMs the body gaps.
        headersTimeout: t.headersMs ?? 0,
        bodyTimeout: t.bodyIdleMs ?? 0,
      });
      const urls = endpointUrlsOf(name, u);
      const health = new EndpointHealth(u.outlierDetection, (e) => opts.onEject?.(name, e));
      this.groups.set(name, {
        agent, health, backends: new BackendSet(name, u, health),
        picks: new PickPolicy(name, u, urls, urls.map(endpointOf)),
      });
    }
  }

  has(name: string): boolean {
    return this.groups.has(name);
  }

  /** The connection pool of one upstream. */
  agent(name: string): Agent {
    return this.groups.get(name)!.agent;
  }

  /** The backends of one upstream, in priority groups. */
  backends(name: string): BackendSet {
    return this.groups.get(name)!.backends;
  }

  /** The passive health of one upstream's endpoints. */
  health(name: string): EndpointHealth {
    return this.groups.get(name)!.health;
  }

  /** The endpoint for the given attempt from a filter's `x-gateway-destination-endpoint` list, if this upstream allows one. */
  pickListed(name: string, list: string, attempt: number): PickResult {
    return pickFromList(this.groups.get(name)!.picks, list, attempt);
  }

  /** Waits for requests in flight, then closes every connection. */
  async close(): Promise<void> {
    await Promise.all([...this.groups.values()].map((g) => g.agent.close()));
  }

  /** Aborts whatever is in flight and closes every connection now (shutdown past its grace). */
  async destroy(): Promise<void> {
    await Promise.all([...this.groups.values()].map((g) => g.agent.destroy()));
  }
}
