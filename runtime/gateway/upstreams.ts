/**
 * Upstreams: named groups of endpoints, each reached through its own keep-alive undici Agent
 * bounded by that upstream's timeouts. Attempt n of a request goes to the endpoint after the one
 * attempt n-1 used (failover), unless a filter picked endpoints (endpoint-pick.ts).
 */
import type { Agent } from 'undici';
import type { UpstreamConfig } from '../config/types.ts';
import { type Endpoint, PickPolicy, type PickResult, pickFromList } from './endpoint-pick.ts';
import { upstreamAgent } from './upstream-agent.ts';

export type { Endpoint } from './endpoint-pick.ts';

interface Group {
  endpoints: Endpoint[];
  agent: Agent;
  picks: PickPolicy;
}

export class Upstreams {
  private readonly groups = new Map<string, Group>();
  private readonly next = new Map<string, number>();

  constructor(config: Record<string, UpstreamConfig>, opts: { connectTimeoutMs?: number } = {}) {
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
      const endpoints = u.endpoints.map((e) => {
        const url = new URL(e);
        return { origin: url.origin, basePath: url.pathname.replace(/\/$/, '') };
      });
      this.groups.set(name, { agent, endpoints, picks: new PickPolicy(name, u, endpoints) });
    }
  }

  has(name: string): boolean {
    return this.groups.has(name);
  }

  /** The connection pool of one upstream. */
  agent(name: string): Agent {
    return this.groups.get(name)!.agent;
  }

  /** The endpoint for the given attempt (1-based) of one request, spreading first attempts round-robin. */
  pick(name: string, attempt: number, start: number): Endpoint {
    const { endpoints } = this.groups.get(name)!;
    return endpoints[(start + attempt - 1) % endpoints.length]!;
  }

  /** The endpoint for the given attempt from a filter's `x-gateway-destination-endpoint` list, if this upstream allows one. */
  pickListed(name: string, list: string, attempt: number): PickResult {
    return pickFromList(this.groups.get(name)!.picks, list, attempt);
  }

  /** A round-robin starting point for a new request on this upstream. */
  startIndex(name: string): number {
    const n = this.next.get(name) ?? 0;
    this.next.set(name, n + 1);
    return n;
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
