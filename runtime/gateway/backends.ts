/**
 * An upstream's backends in priority groups, and the choice of backend and endpoint for each
 * attempt of one request. Attempt 1 goes to the lowest-priority group that has an endpoint in
 * service (passive-health.ts); a retriable failure moves the next attempt to the next such group,
 * wrapping round after the last, so a one-group upstream retries through its own endpoints as
 * before. Inside a group, requests spread round-robin over the endpoints in service.
 */
import type { BackendConfig, UpstreamConfig } from '../config/types.ts';
import type { Endpoint } from './endpoint-pick.ts';
import type { EndpointHealth } from './passive-health.ts';

export interface Backend {
  readonly name: string;
  readonly priority: number;
  readonly endpoints: readonly Endpoint[];
  readonly upstreamFilters: readonly string[];
}

/**
 * The key of a backend's upstream-filter Pipeline in the gateway's pipelines (beside the routes'):
 * a NUL cannot appear in a route name read from YAML or JSON config by accident.
 */
export function backendKey(upstream: string, backend: string): string {
  return `${upstream}\u0000${backend}`;
}

/** The backends of an upstream as configured; `endpoints` alone is one backend, named after the upstream, of priority 0. */
export function backendsOf(name: string, u: UpstreamConfig): BackendConfig[] {
  return u.backends ?? [{ name, endpoints: u.endpoints ?? [], priority: 0 }];
}

/** Every endpoint URL of an upstream, lowest priority first. */
export function endpointUrlsOf(name: string, u: UpstreamConfig): string[] {
  return [...backendsOf(name, u)].sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0)).flatMap((b) => b.endpoints);
}

export function endpointOf(url: string): Endpoint {
  const u = new URL(url);
  return { origin: u.origin, basePath: u.pathname.replace(/\/$/, '') };
}

/** Where one attempt goes. */
export interface Choice {
  backend: Backend;
  endpoint: Endpoint;
}

/** Per request: which group the next attempt goes to, and how many attempts each group has had. */
export interface Cursor {
  group: number;
  /** Round-robin offset of this request (one per request, per upstream). */
  readonly start: number;
  readonly tries: number[];
}

export class BackendSet {
  /** Groups in ascending priority; the endpoints of a group are its backends' endpoints, in order. */
  private readonly groups: Array<Array<{ backend: Backend; endpoint: Endpoint }>>;
  private rr = 0;

  private readonly health: EndpointHealth;

  constructor(name: string, u: UpstreamConfig, health: EndpointHealth) {
    this.health = health;
    const byPriority = new Map<number, Array<{ backend: Backend; endpoint: Endpoint }>>();
    for (const b of backendsOf(name, u)) {
      const backend: Backend = {
        name: b.name, priority: b.priority ?? 0,
        endpoints: b.endpoints.map(endpointOf), upstreamFilters: b.upstreamFilters ?? [],
      };
      const group = byPriority.get(backend.priority) ?? [];
      for (const endpoint of backend.endpoints) group.push({ backend, endpoint });
      byPriority.set(backend.priority, group);
    }
    this.groups = [...byPriority.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
  }

  get backends(): Backend[] {
    return [...new Set(this.groups.flat().map((m) => m.backend))];
  }

  /** A new request's cursor: at the first group with an endpoint in service. */
  cursor(now = Date.now()): Cursor {
    const c: Cursor = { group: 0, start: this.rr++, tries: this.groups.map(() => 0) };
    c.group = this.nextServing(-1, now) ?? 0;
    return c;
  }

  /** After a retriable failure: the next group in service, wrapping round. */
  advance(c: Cursor, now = Date.now()): void {
    c.group = this.nextServing(c.group, now) ?? c.group;
  }

  /**
   * The backend and endpoint for the cursor's next attempt. Ejected endpoints are passed over
   * while the group has another; a group with none in service is used as it is (panic mode:
   * every group ejected), rather than refusing the request.
   */
  choose(c: Cursor, now = Date.now()): Choice {
    const group = this.groups[c.group]!;
    const n = c.tries[c.group]!++;
    const base = c.start + n;
    for (let i = 0; i < group.length; i++) {
      const m = group[(base + i) % group.length]!;
      if (this.health.admit(m.endpoint.origin + m.endpoint.basePath, now)) return m;
    }
    return group[base % group.length]!;
  }

  /** The backend an endpoint belongs to (a filter's pick), else the first of the lowest group. */
  backendFor(endpoint: Endpoint): Backend {
    for (const g of this.groups) for (const m of g) if (m.endpoint.origin === endpoint.origin) return m.backend;
    return this.groups[0]![0]!.backend;
  }

  /** Index of the first group after `from` (wrapping, `from` itself last) with an endpoint in service. */
  private nextServing(from: number, now: number): number | undefined {
    const n = this.groups.length;
    for (let i = 1; i <= n; i++) {
      const g = (from + i + n) % n;
      if (this.groups[g]!.some((m) => this.health.inService(m.endpoint.origin + m.endpoint.basePath, now))) return g;
    }
    return undefined;
  }
}
