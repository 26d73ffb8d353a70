/**
 * The grammar of a plugin's `allowedHosts` entries and their compiled form.
 *
 * An entry is a host part and an optional port part:
 *   host          `api.example`, `127.0.0.1`, `[::1]`, `::1` (bare IPv6, no port)
 *   range         `10.0.0.0/8`, `[fc00::/7]`, `fc00::/7` (bare IPv6 range, no port)
 *   port          `:8080` that port; `:*` any port; none: the scheme's default port (80/443)
 * Hosts go through the same WHATWG host parser as request URLs (lower case, IDNA, IPv4 forms,
 * IPv6 compression), so an entry and a URL spelling the same host compare equal.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** `default`: 80 for http, 443 for https; `any`: every port (written `host:*`). */
export type PortRule = number | 'default' | 'any';

export interface IpRange {
  family: 'ipv4' | 'ipv6';
  /** The network address, without brackets. */
  address: string;
  prefix: number;
}

/** One normalised entry. `ip` is set when the host part is an IP address or a range. */
export interface HostRule {
  /** Canonical host part: `api.example`, `127.0.0.1`, `[::1]`, `10.0.0.0/8`, `[fc00::]/7`. */
  host: string;
  port: PortRule;
  ip?: IpRange;
}

export type EntryParse = { ok: true; rule: HostRule } | { ok: false; problem: string };

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };

export function defaultPort(protocol: string): number | undefined {
  return DEFAULT_PORTS[protocol];
}

export function portMatches(rule: PortRule, port: number, protocol: string): boolean {
  if (rule === 'any') return true;
  if (rule === 'default') return port === DEFAULT_PORTS[protocol];
  return rule === port;
}

/** Splits an entry into host part, optional `/prefix` and optional port part. */
function split(e: string): { host: string; prefix?: string; port?: string } | string {
  let host = e;
  let port: string | undefined;
  if (e.startsWith('[')) {
    const close = e.indexOf(']');
    if (close < 0) return 'unclosed "["';
    host = e.slice(1, close);
    const after = e.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return `unexpected "${after}" after "]"`;
      port = after.slice(1);
    }
  } else {
    const colons = e.split(':').length - 1;
    if (colons === 1) {
      const i = e.indexOf(':');
      host = e.slice(0, i);
      port = e.slice(i + 1);
    } // more than one colon: a bare IPv6 address or range, no port
  }
  const slash = host.indexOf('/');
  if (slash < 0) return port === undefined ? { host } : { host, port };
  return { host: host.slice(0, slash), prefix: host.slice(slash + 1), ...(port === undefined ? {} : { port }) };
}

function parsePort(text: string | undefined): { port: PortRule } | { problem: string } {
  if (text === undefined) return { port: 'default' };
  if (text === '*') return { port: 'any' };
  if (!/^\d{1,5}$/.test(text)) return { problem: `port "${text}" is not a number or "*"` };
  const port = Number(text);
  return port >= 1 && port <= 65535 ? { port } : { problem: `port ${port} is outside 1-65535` };
}

/** Parses one entry; the problem says what is wrong with it. */
export function parseEntry(entry: string): EntryParse {
  const e = entry.trim();
  if (e === '') return { ok: false, problem: 'empty entry' };
  const parts = split(e);
  if (typeof parts === 'string') return { ok: false, problem: parts };
  const parsedPort = parsePort(parts.port);
  if ('problem' in parsedPort) return { ok: false, problem: parsedPort.problem };
  const port = parsedPort.port;
  if (parts.host === '*' || parts.host.includes('*')) return { ok: false, problem: 'wildcard hosts are not supported; list each host' };
  if (parts.host === '' || /[/?#@\\\s[\]]/.test(parts.host)) return { ok: false, problem: `"${parts.host}" is not a host` };
  const v6 = parts.host.includes(':');
  let host: string;
  try {
    host = new URL(`http://${v6 ? `[${parts.host}]` : parts.host}/`).hostname;
  } catch {
    return { ok: false, problem: `"${parts.host}" is not a host` };
  }
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  const family = isIPv6(bare) ? 'ipv6' : isIPv4(bare) ? 'ipv4' : undefined;
  if (parts.prefix === undefined) {
    if (family === undefined) return { ok: true, rule: { host, port } };
    return { ok: true, rule: { host, port, ip: { family, address: bare, prefix: family === 'ipv4' ? 32 : 128 } } };
  }
  if (family === undefined) return { ok: false, problem: `"${parts.host}/${parts.prefix}" is not a host or an IP range` };
  const max = family === 'ipv4' ? 32 : 128;
  if (!/^\d{1,3}$/.test(parts.prefix) || Number(parts.prefix) > max) {
    return { ok: false, problem: `prefix "/${parts.prefix}" is not 0-${max}` };
  }
  const prefix = Number(parts.prefix);
  return { ok: true, rule: { host: `${host}/${prefix}`, port, ip: { family, address: bare, prefix } } };
}

/** The normalised rule, or undefined for an entry that is not a valid host (it allows nothing). */
export function parseHostRule(entry: string): HostRule | undefined {
  const parsed = parseEntry(entry);
  return parsed.ok ? parsed.rule : undefined;
}

/** A rule whose host part is an address or range, ready for containment checks. */
export interface AddressRule {
  text: string;
  port: PortRule;
  range: BlockList;
}

/** An allow-list compiled for the two checks that use it. */
export interface CompiledAllowList {
  /** Entries naming hosts by name: matched against the URL's host. */
  names: readonly HostRule[];
  /** Entries naming addresses or ranges: matched against an IP-literal URL host and, at connect time, the address. */
  addresses: readonly AddressRule[];
  /** What the connect-time check accepts beyond public addresses: `addresses` plus loopback for a `localhost` entry. */
  connectable: readonly AddressRule[];
  /** Canonical text of `connectable`: plugins with the same key can share connections. */
  connectKey: string;
}

function addressRule(host: string, ip: IpRange, port: PortRule): AddressRule {
  const range = new BlockList();
  range.addSubnet(ip.address, ip.prefix, ip.family);
  return { text: `${host}:${port === 'any' ? '*' : port}`, port, range };
}

/** `localhost` names loopback: an entry for it also lets its name connect to 127.0.0.0/8 and ::1, at its port. */
const LOOPBACK: readonly IpRange[] = [
  { family: 'ipv4', address: '127.0.0.0', prefix: 8 },
  { family: 'ipv6', address: '::1', prefix: 128 },
];

const compiled = new WeakMap<readonly string[], CompiledAllowList>();

/** Compiles an allow-list (cached per array); invalid entries allow nothing. */
export function compileAllowList(allowedHosts: readonly string[]): CompiledAllowList {
  let list = compiled.get(allowedHosts);
  if (list !== undefined) return list;
  const names: HostRule[] = [];
  const addresses: AddressRule[] = [];
  const connectable: AddressRule[] = [];
  for (const entry of allowedHosts) {
    const rule = parseHostRule(entry);
    if (rule === undefined) continue;
    if (rule.ip !== undefined) {
      const a = addressRule(rule.host, rule.ip, rule.port);
      addresses.push(a);
      connectable.push(a);
      continue;
    }
    names.push(rule);
    if (rule.host === 'localhost') {
      for (const ip of LOOPBACK) connectable.push(addressRule(ip.family === 'ipv4' ? '127.0.0.0/8' : '[::1]', ip, rule.port));
    }
  }
  const connectKey = [...new Set(connectable.map((a) => a.text))].sort().join(',');
  list = { names, addresses, connectable, connectKey };
  compiled.set(allowedHosts, list);
  return list;
}

/** The family of an address as `BlockList.check` wants it, or undefined for a name. */
export function ipFamily(address: string): 'ipv4' | 'ipv6' | undefined {
  return isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
}

/** True when an address rule covers this address (IPv4-mapped IPv6 forms included) and port. */
export function addressAllowed(rules: readonly AddressRule[], address: string, port: number, protocol: string): boolean {
  const family = ipFamily(address);
  if (family === undefined) return false;
  return rules.some((r) => portMatches(r.port, port, protocol) && r.range.check(address, family));
}
