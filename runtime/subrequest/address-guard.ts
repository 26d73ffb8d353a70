/**
 * The connect-time address check. A name on a plugin's allow-list says nothing about where it
 * points: its DNS may answer with a loopback, private or metadata address (DNS rebinding). So the
 * check runs inside undici's connect path, on the addresses the socket is about to connect to:
 * names are resolved by our lookup, which drops refused addresses before `net` sees them, and
 * IP literals are checked before the connector is called. Nothing can change between check and use.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList } from 'node:net';
import { buildConnector } from 'undici';
import { addressAllowed, defaultPort, ipFamily, type AddressRule } from './allow-list.ts';

/** Resolves a name to its addresses (the test seam for DNS; default: `dns.lookup`, all addresses). */
export type HostResolver = (hostname: string) => Promise<readonly LookupAddress[]>;

export const systemResolver: HostResolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, order: 'verbatim' }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/**
 * Ranges refused unless the allow-list names them. Checked in order, so the more specific
 * name wins (metadata before link-local and private). `BlockList` also matches the
 * IPv4-mapped IPv6 form (`::ffff:127.0.0.1`) of every IPv4 range.
 */
const SPECIAL: ReadonlyArray<[category: string, ranges: ReadonlyArray<[string, number]>]> = [
  ['metadata', [['169.254.169.254', 32], ['fd00:ec2::254', 128]]],
  ['unspecified', [['0.0.0.0', 8], ['::', 128]]],
  ['loopback', [['127.0.0.0', 8], ['::1', 128]]],
  ['private', [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['fc00::', 7]]],
  ['link-local', [['169.254.0.0', 16], ['fe80::', 10]]],
  ['carrier-grade-nat', [['100.64.0.0', 10]]],
  ['multicast', [['224.0.0.0', 4], ['ff00::', 8]]],
  ['reserved', [['240.0.0.0', 4]]],
];

/** NAT64 (RFC 6052, `64:ff9b::/96`) spells an IPv4 address inside IPv6; refuse the spellings of the ranges above too. */
function nat64(v4: string, prefix: number): [string, number] {
  const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number);
  const hex = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);
  return [`64:ff9b::${hex(a, b)}:${hex(c, d)}`, 96 + prefix];
}

const CATEGORIES: ReadonlyArray<[string, BlockList]> = SPECIAL.map(([category, ranges]) => {
  const list = new BlockList();
  for (const [address, prefix] of ranges) {
    const family = ipFamily(address)!;
    list.addSubnet(address, prefix, family);
    if (family === 'ipv4') {
      const [v6, p6] = nat64(address, prefix);
      list.addSubnet(v6, p6, 'ipv6');
    }
  }
  return [category, list];
});

/** The reason an address is not public (`loopback`, `metadata`, ...), or undefined for a public one. */
export function specialCategory(address: string): string | undefined {
  const family = ipFamily(address);
  if (family === undefined) return undefined;
  for (const [category, list] of CATEGORIES) if (list.check(address, family)) return category;
  return undefined;
}

/** A connect refused by the address check; surfaces to the guest as `denied(reason)`. */
export class AddressDeniedError extends Error {
  readonly code = 'PRAXIS_ADDRESS_DENIED';
  readonly host: string;
  readonly address: string;
  readonly category: string;
  constructor(host: string, port: number, address: string, category: string) {
    const hostPort = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    super(host === address ? `address ${hostPort} (${category}) not allowed` : `host ${hostPort} resolved to ${address} (${category}), not allowed`);
    this.name = 'AddressDeniedError';
    this.host = host;
    this.address = address;
    this.category = category;
  }
}

/** Finds an address refusal in what undici rejected with (possibly an AggregateError or a cause chain). */
export function addressDenial(err: unknown, depth = 0): AddressDeniedError | undefined {
  if (err instanceof AddressDeniedError) return err;
  if (depth > 4 || typeof err !== 'object' || err === null) return undefined;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const found = addressDenial(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return addressDenial((err as { cause?: unknown }).cause, depth + 1);
}

/** The refusal for connecting to `address`, or undefined when it is public or named by the allow-list. */
export function refusal(rules: readonly AddressRule[], host: string, address: string, port: number, protocol: string): AddressDeniedError | undefined {
  const category = specialCategory(address);
  if (category === undefined || addressAllowed(rules, address, port, protocol)) return undefined;
  return new AddressDeniedError(host, port, address, category);
}

interface ConnectTarget {
  port: number;
  protocol: string;
}

export interface GuardOptions {
  rules: readonly AddressRule[];
  connectTimeoutMs: number;
  resolve: HostResolver;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * An undici `connect` function that refuses non-public addresses the rules do not name.
 * `net` calls the lookup without the port, so the port travels in an AsyncLocalStorage.
 */
export function guardedConnector(options: GuardOptions): buildConnector.connector {
  const target = new AsyncLocalStorage<ConnectTarget>();
  const lookup = (hostname: string, opts: LookupOptions, callback: LookupCallback): void => {
    const where = target.getStore();
    options.resolve(hostname).then(
      (all) => {
        const wanted = all.filter((a) => opts.family === undefined || opts.family === 0 || a.family === opts.family);
        // Without the port (never expected) nothing non-public passes: fail closed.
        const port = where?.port ?? 0;
        const protocol = where?.protocol ?? '';
        let refused: AddressDeniedError | undefined;
        const allowed = wanted.filter((a) => {
          const r = refusal(options.rules, hostname, a.address, port, protocol);
          refused ??= r;
          return r === undefined;
        });
        if (allowed.length > 0) {
          if (opts.all === true) callback(null, allowed);
          else callback(null, allowed[0]!.address, allowed[0]!.family);
          return;
        }
        if (refused !== undefined) return callback(refused, '');
        callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }), '');
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
  const inner = buildConnector({ timeout: options.connectTimeoutMs, lookup });
  return (opts, callback) => {
    const port = opts.port !== '' && opts.port !== undefined ? Number(opts.port) : (defaultPort(opts.protocol) ?? 0);
    // `net` connects to an IP literal without calling the lookup: check it here.
    if (ipFamily(opts.hostname) !== undefined) {
      const refused = refusal(options.rules, opts.hostname, opts.hostname, port, opts.protocol);
      if (refused !== undefined) {
        queueMicrotask(() => callback(refused, null));
        return;
      }
    }
    target.run({ port, protocol: opts.protocol }, () => inner(opts, callback));
  };
}
