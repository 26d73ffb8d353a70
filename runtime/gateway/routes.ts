/** Route matching: the first route whose path prefix and headers all match wins. */
import type { HeaderList } from '../component/types.ts';
import type { RouteConfig } from '../config/types.ts';
import { getHeader } from '../pipeline/headers.ts';

export function matchRoute(routes: readonly RouteConfig[], path: string, headers: HeaderList): RouteConfig | undefined {
  for (const route of routes) {
    const m = route.match;
    if (m?.pathPrefix && !path.startsWith(m.pathPrefix)) continue;
    if (m?.headers && !Object.entries(m.headers).every(([k, v]) => getHeader(headers, k) === v)) continue;
    return route;
  }
  return undefined;
}
