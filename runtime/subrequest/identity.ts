/**
 * Identity of a sub-request, owned by the host: request id, attempt, W3C trace context and call
 * depth. Also the hop-by-hop header rules (RFC 9110 section 7.6.1) used on both directions.
 */
import { randomFillSync } from 'node:crypto';
import type { HeaderList } from '../component/types.ts';

export interface TraceContext {
  traceId: string;
  spanId: string;
  flags: string;
}

export const DEPTH_HEADER = 'x-praxis-depth';
export const REQUEST_ID_HEADER = 'x-request-id';
export const ATTEMPT_HEADER = 'x-processor-attempt';
export const TRACEPARENT_HEADER = 'traceparent';

/** Headers the host sets on every sub-request; a guest's values for them are dropped. */
export const IDENTITY_HEADERS: ReadonlySet<string> = new Set([
  REQUEST_ID_HEADER,
  ATTEMPT_HEADER,
  TRACEPARENT_HEADER,
  DEPTH_HEADER,
]);

const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** Parses a W3C traceparent; undefined when absent or invalid (then start a new trace). */
export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  if (value === undefined) return undefined;
  const m = TRACEPARENT_RE.exec(value.trim());
  if (m === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === undefined || traceId === undefined || spanId === undefined || flags === undefined) return undefined;
  if (version === 'ff') return undefined;
  // Version 00 has exactly four fields; later versions may append more.
  if (version === '00' && rest !== undefined) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, flags };
}

// Span ids are minted per sub-request: draw them from a pooled buffer, refilled in bulk,
// rather than one crypto call each.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomHex(bytes: number, zero: string): string {
  for (;;) {
    if (poolOffset + bytes > pool.length) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
    poolOffset += bytes;
    if (hex !== zero) return hex;
  }
}

/** A new trace with random ids (for a client request that brought none). */
export function startTrace(): TraceContext {
  return { traceId: randomHex(16, ZERO_TRACE), spanId: randomHex(8, ZERO_SPAN), flags: '01' };
}

/** The traceparent for a child call: same trace id and flags, a new span id. */
export function childTraceparent(parent: TraceContext): string {
  return `00-${parent.traceId}-${randomHex(8, ZERO_SPAN)}-${parent.flags}`;
}

const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  // The gateway's in-process route header (route-target.ts): one connection's, never passed on.
  'x-praxis-inproc-route',
]);

/** True for the fixed hop-by-hop header names (any case), including every `proxy-*`. */
export function isHopByHop(name: string): boolean {
  const n = name.toLowerCase();
  return HOP_BY_HOP.has(n) || n.startsWith('proxy-');
}

/** The header names a `Connection` header lists (lower-case): they are hop-by-hop too. */
export function connectionTokens(headers: HeaderList): ReadonlySet<string> {
  let tokens: Set<string> | undefined;
  for (const [name, value] of headers) {
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    for (const token of value.split(',')) {
      const t = token.trim().toLowerCase();
      // A fixed hop-by-hop name (`keep-alive`, on most requests) is dropped anyway: no set for it.
      if (t !== '' && !HOP_BY_HOP.has(t)) (tokens ??= new Set()).add(t);
    }
  }
  // Most messages name nothing: one shared empty set rather than a new one per call.
  return tokens ?? NO_TOKENS;
}
const NO_TOKENS: ReadonlySet<string> = new Set();

/** Drops hop-by-hop headers, the fixed ones and those the Connection header names. */
export function stripHopByHop(headers: HeaderList): HeaderList {
  const listed = connectionTokens(headers);
  const out: HeaderList = [];
  for (const h of headers) {
    const name = h[0];
    if (!isHopByHop(name) && (listed.size === 0 || !listed.has(name.toLowerCase()))) out.push(h);
  }
  return out;
}

export interface IdentitySource {
  requestId: string;
  attempt: number;
  traceparent: TraceContext;
  depth: number;
}

/**
 * Headers that reach the callee: the guest's, minus hop-by-hop, identity, `host` and
 * `content-length` (the host derives both from the checked URL and the body), plus the
 * host-owned identity headers.
 */
export function outgoingHeaders(guest: HeaderList, parent: IdentitySource, traceparent?: string): HeaderList {
  const out: HeaderList = [];
  for (const [name, value] of stripHopByHop(guest)) {
    const n = name.toLowerCase();
    if (IDENTITY_HEADERS.has(n) || n === 'host' || n === 'content-length') continue;
    out.push([n, value]);
  }
  out.push([REQUEST_ID_HEADER, parent.requestId]);
  out.push([ATTEMPT_HEADER, String(parent.attempt)]);
  // With tracing on, the sub-request's own span names itself; otherwise a fresh child id.
  out.push([TRACEPARENT_HEADER, traceparent ?? childTraceparent(parent.traceparent)]);
  out.push([DEPTH_HEADER, String(parent.depth + 1)]);
  return out;
}

/** A response's header object (node:http / undici) as a list, hop-by-hop headers removed. */
export function responseHeaderList(headers: Record<string, string | string[] | undefined>): HeaderList {
  const list: HeaderList = [];
  // for-in rather than Object.entries: no array of pairs per response.
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) list.push([name, v]);
    else list.push([name, value]);
  }
  return stripHopByHop(list);
}
