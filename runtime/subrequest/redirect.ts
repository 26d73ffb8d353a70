/** Redirect handling: which statuses are followed and how the next hop's request changes. */
import type { HeaderList } from '../component/types.ts';

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

export function isRedirect(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

export interface Hop {
  method: string;
  headers: HeaderList;
  body: Uint8Array | undefined;
}

/** Headers that describe the request body; dropped when a redirect drops the body. */
const BODY_HEADERS: ReadonlySet<string> = new Set(['content-type', 'content-encoding', 'content-language', 'content-location']);
/** Credentials that must not follow a redirect to another origin. */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie']);

/**
 * The next hop, as fetch does it: 303 turns anything but GET/HEAD into a body-less GET; so
 * do 301/302 for POST; 307/308 keep method and body. Credentials stay on the same origin.
 */
export function nextHop(status: number, hop: Hop, from: URL, to: URL): Hop {
  const method = hop.method.toUpperCase();
  const toGet = (status === 303 && method !== 'GET' && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST');
  const crossOrigin = from.origin !== to.origin;
  const headers = hop.headers.filter(([name]) => {
    const n = name.toLowerCase();
    if (toGet && BODY_HEADERS.has(n)) return false;
    if (crossOrigin && CREDENTIAL_HEADERS.has(n)) return false;
    return true;
  });
  return toGet ? { method: 'GET', headers, body: undefined } : { method: hop.method, headers, body: hop.body };
}
