/**
 * Outbound capability checks: WHATWG URL parsing, http/https only, no userinfo, and the
 * plugin's host allow-list. Runs before any connection is opened (also on redirect targets).
 */

/** One normalised allow-list entry; `port` undefined means any port of that host. */
export interface HostRule {
  host: string;
  port?: number;
}

export type UrlCheck =
  | { ok: true; url: URL }
  | { ok: false; reason: string };

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };

/**
 * Normalises an allow-list entry ("host", "host:port", "[v6]", "[v6]:port", bare "v6") with
 * the same WHATWG host parser the request URL goes through: lower case, IDNA, IPv4 forms,
 * IPv6 compression and brackets. Returns undefined for an entry that is not a plain host.
 */
export function parseHostRule(entry: string): HostRule | undefined {
  const e = entry.trim();
  if (e === '') return undefined;
  let hostPart = e;
  let portPart: string | undefined;
  if (e.startsWith('[')) {
    const close = e.indexOf(']');
    if (close < 0) return undefined;
    hostPart = e.slice(0, close + 1);
    const after = e.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return undefined;
      portPart = after.slice(1);
    }
  } else {
    const colons = e.split(':').length - 1;
    if (colons > 1) {
      hostPart = `[${e}]`; // bare IPv6 literal, no port
    } else if (colons === 1) {
      const i = e.indexOf(':');
      hostPart = e.slice(0, i);
      portPart = e.slice(i + 1);
    }
  }
  if (/[/?#@\\\s]/.test(hostPart)) return undefined;
  let host: string;
  try {
    const u = new URL(`http://${hostPart}/`);
    host = u.hostname;
  } catch {
    return undefined;
  }
  if (host === '') return undefined;
  if (portPart === undefined) return { host };
  if (!/^\d{1,5}$/.test(portPart)) return undefined;
  const port = Number(portPart);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

const compiled = new WeakMap<readonly string[], HostRule[]>();

/** Normalised rules for an allow-list (cached per array); invalid entries allow nothing. */
export function hostRules(allowedHosts: readonly string[]): HostRule[] {
  let rules = compiled.get(allowedHosts);
  if (rules === undefined) {
    rules = [];
    for (const entry of allowedHosts) {
      const rule = parseHostRule(entry);
      if (rule !== undefined) rules.push(rule);
    }
    compiled.set(allowedHosts, rules);
  }
  return rules;
}

/** The port a URL connects to, default ports made explicit. */
export function effectivePort(url: URL): number {
  return url.port !== '' ? Number(url.port) : (DEFAULT_PORTS[url.protocol] ?? 0);
}

export function hostAllowed(url: URL, rules: readonly HostRule[]): boolean {
  const host = url.hostname;
  const port = effectivePort(url);
  return rules.some((r) => r.host === host && (r.port === undefined || r.port === port));
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
  if (!hostAllowed(url, hostRules(allowedHosts))) {
    return { ok: false, reason: `host ${url.host || url.hostname} not allowed` };
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
