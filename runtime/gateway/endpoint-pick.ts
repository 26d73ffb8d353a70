/**
 * Endpoint picking in the standalone gateway, by the endpoint-picker convention of the Gateway
 * API Inference Extension: a request filter sets `x-gateway-destination-endpoint` to `host:port`
 * or a comma list of them (first the choice, then the fallbacks), exactly as it would for Envoy in
 * the ext_proc face, so one plugin serves both. The gateway is never an open proxy: an entry is
 * honoured only when it is one of the upstream's configured endpoints or an address its
 * `pickableEndpoints` allow-list admits; the others are skipped, and a list with none left is
 * refused. The header is the filters' alone: the client's own is dropped before they run, and
 * the gateway's is never forwarded.
 */
import { BlockList, isIP } from 'node:net';
import type { HeaderList, RequestHead } from '../component/types.ts';
import type { UpstreamConfig } from '../config/types.ts';
import { getHeader } from '../pipeline/headers.ts';
import { DESTINATION_HEADER } from '../pipeline/pipeline.ts';

export { DESTINATION_HEADER };

export interface Endpoint {
  origin: string;
  /** Path prefix of the endpoint URL, without a trailing slash ('' for none). */
  basePath: string;
}

/** One allow-list entry: addresses (one, or a CIDR block) on one port, or on any when `port` is absent. */
interface PickableRule {
  block: BlockList;
  port?: number;
}

/** `host:port` (IPv6 bracketed), always with its port: what the convention names. */
const ENTRY = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/;
/** An allow-list entry: IPv4 or bracketed IPv6, optionally a CIDR block, optionally `:port`. */
const RULE = /^(?:(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?|\[([0-9A-Fa-f:.]+)(?:\/(\d{1,3}))?\])(?::(\d{1,5}))?$/;

/** `hostname:port` as the URL parser writes them (lower case, IPv6 compressed and bracketed, default port filled in). */
function keyOf(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}

/** The canonical key of one `host:port` entry, or undefined when it is not one. */
function entryKey(entry: string): { key: string; host: string; port: number } | undefined {
  if (!ENTRY.test(entry)) return undefined;
  let url: URL;
  try {
    url = new URL(`http://${entry}`);
  } catch {
    return undefined;
  }
  const port = Number(url.port || '80');
  return { key: `${url.hostname}:${port}`, host: url.hostname.replace(/^\[|\]$/g, ''), port };
}

/** Parses `pickableEndpoints`; throws naming the key at start-up (the schema already checked the shape). */
export function parsePickable(upstream: string, entries: readonly string[]): PickableRule[] {
  return entries.map((entry, i) => {
    const m = RULE.exec(entry);
    const addr = m?.[1] ?? m?.[3];
    const family = m?.[1] !== undefined ? 'ipv4' : 'ipv6';
    const prefix = m?.[2] ?? m?.[4];
    const port = m?.[5] === undefined ? undefined : Number(m[5]);
    const bits = family === 'ipv4' ? 32 : 128;
    if (!m || !addr || isIP(addr) !== (family === 'ipv4' ? 4 : 6) || (prefix !== undefined && Number(prefix) > bits)
      || (port !== undefined && (port < 1 || port > 65535))) {
      throw new Error(`upstreams.${upstream}.pickableEndpoints[${i}]: "${entry}" is not an address, a CIDR block, or either with :port`);
    }
    const block = new BlockList();
    if (prefix === undefined) block.addAddress(addr, family);
    else block.addSubnet(addr, Number(prefix), family);
    return port === undefined ? { block } : { block, port };
  });
}

/** What one upstream lets a filter pick: its endpoints by `host:port`, and its allow-list. */
export class PickPolicy {
  private readonly byKey = new Map<string, Endpoint>();
  private readonly rules: PickableRule[];
  /** Scheme and path prefix for an allow-listed address that is not a configured endpoint: the first endpoint's. */
  private readonly protocol: string;
  private readonly basePath: string;

  /** `urls` and `endpoints`: every endpoint of the upstream (all its backends), lowest priority first. */
  constructor(name: string, config: UpstreamConfig, urls: readonly string[], endpoints: readonly Endpoint[]) {
    urls.forEach((e, i) => {
      const key = keyOf(new URL(e));
      if (!this.byKey.has(key)) this.byKey.set(key, endpoints[i]!);
    });
    this.rules = parsePickable(name, config.pickableEndpoints ?? []);
    this.protocol = new URL(urls[0]!).protocol;
    this.basePath = endpoints[0]!.basePath;
  }

  /** The endpoint a filter's entry names, when this upstream allows it. */
  resolve(entry: string): Endpoint | undefined {
    const parsed = entryKey(entry);
    if (!parsed) return undefined;
    const known = this.byKey.get(parsed.key);
    if (known) return known;
    const family = isIP(parsed.host);
    if (family === 0) return undefined; // a name is honoured only as a configured endpoint
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const admitted = this.rules.some((r) => (r.port === undefined || r.port === parsed.port) && r.block.check(parsed.host, type));
    return admitted ? { origin: `${this.protocol}//${parsed.key}`, basePath: this.basePath } : undefined;
  }
}

export type PickResult =
  | { ok: true; endpoint: Endpoint; skipped: string[] }
  | { ok: false; refused: string[] };

/**
 * The endpoint for attempt `attempt` (1-based) from a filter's list: the allowed entries in the
 * filter's order, the first for attempt 1, the next on each retry (wrapping round), so the
 * route's retries fall back through the list. Entries not allowed are reported, never dialled.
 */
export function pickFromList(policy: PickPolicy, list: string, attempt: number): PickResult {
  const allowed: Endpoint[] = [];
  const skipped: string[] = [];
  for (const raw of list.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const endpoint = policy.resolve(entry);
    if (endpoint) allowed.push(endpoint);
    else skipped.push(entry);
  }
  if (allowed.length === 0) return { ok: false, refused: skipped };
  return { ok: true, endpoint: allowed[(attempt - 1) % allowed.length]!, skipped };
}

/** The client's head without its own destination header (a client must not steer routing); the same object when it sent none. */
export function withoutClientPick(head: RequestHead): RequestHead {
  if (getHeader(head.headers, DESTINATION_HEADER) === undefined) return head;
  const headers: HeaderList = head.headers.filter(([k]) => k !== DESTINATION_HEADER);
  return { ...head, headers };
}
