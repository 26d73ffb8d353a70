/**
 * Outbound capability checks on the URL: WHATWG URL parsing, http/https only, no userinfo, and
 * the plugin's allow-list matched against host and port. Runs before any connection is opened
 * (also on redirect targets); the address a name resolves to is checked later, at connect time
 * (`address-guard.ts`).
 */
import { addressAllowed, compileAllowList, defaultPort, ipFamily, portMatches, type CompiledAllowList } from './allow-list.ts';

export { parseHostRule, type HostRule } from './allow-list.ts';

export type UrlCheck =
  | { ok: true; url: URL }
  | { ok: false; reason: string };

/** The port a URL connects to, default ports made explicit. */
export function effectivePort(url: URL): number {
  return url.port !== '' ? Number(url.port) : (defaultPort(url.protocol) ?? 0);
}

/**
 * A name matches a name entry; an IP literal matches an address or range entry containing it
 * (a listed name never allows the addresses it resolves to, nor the reverse).
 */
export function hostAllowed(url: URL, list: CompiledAllowList): boolean {
  const host = url.hostname;
  const port = effectivePort(url);
  const address = host.startsWith('[') ? host.slice(1, -1) : host;
  if (ipFamily(address) !== undefined) return addressAllowed(list.addresses, address, port, url.protocol);
  return list.names.some((r) => r.host === host && portMatches(r.port, port, url.protocol));
}

/** Parses and checks a sub-request (or redirect) URL against the allow-list. */
export function checkUrl(raw: string | URL, allowedHosts: readonly string[], base?: URL): UrlCheck {
  let url: URL;
  try {
    url = typeof raw === 'string' ? new URL(raw, base) : raw;
  } catch {
    return { ok: false, reason: 'invalid url' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, reason: `scheme ${url.protocol.replace(/:$/, '')} not allowed` };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'userinfo in url not allowed' };
  }
  if (!hostAllowed(url, compileAllowList(allowedHosts))) {
    return { ok: false, reason: `host ${url.hostname}:${effectivePort(url)} not allowed` };
  }
  return { ok: true, url };
}

/** The URL as logged: scheme, host, path; no userinfo, query or fragment. */
export function loggableUrl(raw: string | URL): string {
  try {
    const u = typeof raw === 'string' ? new URL(raw) : raw;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    const s = String(raw);
    const cut = s.search(/[?#]/);
    return (cut < 0 ? s : s.slice(0, cut)).replace(/\/\/[^/@]*@/, '//');
  }
}
