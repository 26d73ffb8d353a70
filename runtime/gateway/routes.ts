/**
 * Route matching: the first route whose path prefix and headers all match wins. Paths reaching
 * here are normalised (paths.ts), and so are the configured prefixes, once at start; a prefix
 * matches on segment boundaries, so `/v1` takes `/v1` and `/v1/x` but never `/v1evil`.
 */
import type { HeaderList } from '../component/types.ts';
import type { RouteConfig } from '../config/types.ts';
import { getHeader } from '../pipeline/headers.ts';
import { ROUTE_HEADER, forcedRoute } from '../subrequest/route-target.ts';
import { type PathPolicy, normaliseTarget } from './paths.ts';

/** Whether normalised `path` lies under `prefix`: equal, or continuing with a new segment. */
export function underPrefix(path: string, prefix: string): boolean {
  if (!path.startsWith(prefix)) return false;
  // A prefix ending in `/` (the root included) already ends on a boundary.
  return prefix.endsWith('/') || path.length === prefix.length || path[prefix.length] === '/';
}

interface Entry {
  readonly route: RouteConfig;
  readonly prefix: string | undefined;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

export class RouteTable {
  private readonly entries: readonly Entry[];
  private readonly byName: ReadonlyMap<string, RouteConfig>;

  /** Throws, naming the key, for a prefix that no request could ever match under `policy`. */
  constructor(routes: readonly RouteConfig[], policy: PathPolicy) {
    this.entries = routes.map((route, i) => {
      const raw = route.match?.pathPrefix;
      let prefix: string | undefined;
      if (raw !== undefined) {
        const v = normaliseTarget(raw, policy);
        if (!v.ok || v.query !== '') {
          throw new Error(`routes[${i}].match.pathPrefix: ${JSON.stringify(raw)} can never match a request (${v.ok ? 'contains "?"' : v.reason})`);
        }
        prefix = v.path;
      }
      // Host names are case-insensitive (RFC 9110 7.2): `Admin.example` must not miss the `admin.example` route.
      const headers = Object.entries(route.match?.headers ?? {}).map(([k, v]) => [k, k.toLowerCase() === 'host' ? v.toLowerCase() : v] as const);
      return { route, prefix, headers };
    });
    this.byName = new Map(routes.map((r) => [r.name, r]));
  }

  /** The route for a normalised path, or undefined when none matches. */
  match(path: string, headers: HeaderList): RouteConfig | undefined {
    // A `route://` sub-request names its route (only the gateway's own in-process calls can).
    const forced = forcedRoute(getHeader(headers, ROUTE_HEADER));
    if (forced !== undefined) return this.byName.get(forced);
    for (const e of this.entries) {
      if (e.prefix !== undefined && !underPrefix(path, e.prefix)) continue;
      if (!e.headers.every(([k, v]) => (k.toLowerCase() === 'host' ? getHeader(headers, k)?.toLowerCase() : getHeader(headers, k)) === v)) continue;
      return e.route;
    }
    return undefined;
  }
}
