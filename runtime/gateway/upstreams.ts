/**
 * Upstreams: named groups of endpoints, reached through one keep-alive undici Agent.
 * Attempt n of a request goes to the endpoint after the one attempt n-1 used (failover).
 */
import { Agent } from 'undici';
import type { UpstreamConfig } from '../config/types.ts';

export interface Endpoint {
  origin: string;
  /** Path prefix of the endpoint URL, without a trailing slash ('' for none). */
  basePath: string;
}

export class Upstreams {
  readonly agent: Agent;
  private readonly groups = new Map<string, Endpoint[]>();
  private readonly next = new Map<string, number>();

  constructor(config: Record<string, UpstreamConfig>, opts: { connectTimeoutMs?: number } = {}) {
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      connections: 256,
      connect: { timeout: opts.connectTimeoutMs ?? 2000 },
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    for (const [name, u] of Object.entries(config)) {
      this.groups.set(name, u.endpoints.map((e) => {
        const url = new URL(e);
        return { origin: url.origin, basePath: url.pathname.replace(/\/$/, '') };
      }));
    }
  }

  has(name: string): boolean {
    return this.groups.has(name);
  }

  /** The endpoint for the given attempt (1-based) of one request, spreading first attempts round-robin. */
  pick(name: string, attempt: number, start: number): Endpoint {
    const group = this.groups.get(name)!;
    return group[(start + attempt - 1) % group.length]!;
  }

  /** A round-robin starting point for a new request on this upstream. */
  startIndex(name: string): number {
    const n = this.next.get(name) ?? 0;
    this.next.set(name, n + 1);
    return n;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
