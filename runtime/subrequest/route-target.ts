/**
 * Sub-requests through the gateway's own chain: `route://<route-name>/<path>` runs that route's
 * filters and upstream selection in-process (gateway/inproc.ts), with no network hop. A plugin
 * may make one only when its `allowedHosts` lists `route://<route-name>`. The route travels to
 * the in-process exchange in a connection-level header carrying a per-process secret, so a
 * client cannot name a route by sending the header itself; it is hop-by-hop, so no filter or
 * upstream ever sees it.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { HeaderList } from '../component/types.ts';

export const ROUTE_SCHEME = 'route://';
/** The header naming the forced route on an in-process connection (listed as hop-by-hop). */
export const ROUTE_HEADER = 'x-praxis-inproc-route';
const SECRET = randomBytes(16).toString('hex');

export type RouteUrl = { ok: true; route: string; path: string } | { ok: false; reason: string };

/** `route://<name>/<path>`: the route's name and the origin-form path (with query) for it. */
export function parseRouteUrl(url: string): RouteUrl {
  const rest = url.slice(ROUTE_SCHEME.length);
  const slash = rest.search(/[/?]/);
  const raw = slash < 0 ? rest : rest.slice(0, slash);
  // A guest's URL: a bad escape is its mistake, refused as such (not an internal error).
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    return { ok: false, reason: `route url has a malformed escape in its route name: ${JSON.stringify(raw.slice(0, 64))}` };
  }
  if (name === '') return { ok: false, reason: 'route url names no route' };
  const tail = slash < 0 ? '/' : rest.slice(slash);
  const cut = tail.indexOf('#');
  const path = (cut < 0 ? tail : tail.slice(0, cut));
  return { ok: true, route: name, path: path.startsWith('/') ? path : `/${path}` };
}

export function isRouteUrl(url: string): boolean {
  return url.length > ROUTE_SCHEME.length && url.slice(0, ROUTE_SCHEME.length).toLowerCase() === ROUTE_SCHEME;
}

/** Whether an `allowedHosts` list grants `route://<name>`. */
export function routeAllowed(allowedHosts: readonly string[], name: string): boolean {
  return allowedHosts.some((e) => isRouteUrl(e) && e.slice(ROUTE_SCHEME.length).replace(/\/$/, '') === name);
}

/** The header value for an in-process request to `route`. */
export function routeHeaderValue(route: string): string {
  return `${SECRET} ${route}`;
}

/** The route an in-process request names, or undefined (absent, or not carrying this process's secret). */
export function forcedRoute(value: string | undefined): string | undefined {
  if (value === undefined || !value.startsWith(`${SECRET} `)) return undefined;
  return value.slice(SECRET.length + 1);
}

/** One in-process call: what the bridge hands the gateway. */
export interface RouteCall {
  route: string;
  path: string;
  method: string;
  headers: HeaderList;
  body: Uint8Array | undefined;
  signal: AbortSignal;
}

export interface RouteResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** Serves a route call through the gateway's own exchange; rejects when the call fails. */
export type RouteTarget = (call: RouteCall) => Promise<RouteResponse>;
