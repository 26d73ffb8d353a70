/** Public option and record types of the sub-request bridge, and their defaults. */
import type { Logger } from 'pino';
import type { Agent } from 'undici';
import type { SubrequestError } from '../component/types.ts';
import type { HostResolver } from './address-guard.ts';
import type { TraceContext } from './identity.ts';
import type { Span } from '../observability/tracing.ts';

export interface SubrequestBridgeOptions {
  /** Global cap on in-flight sub-requests (default 256). */
  maxInFlight: number;
  /** TCP/TLS connect timeout (default 1000). */
  connectTimeoutMs: number;
  /** Timeout when neither the guest nor the plugin gives one (default 5000). */
  defaultTimeoutMs: number;
  /** Response body ceiling (default 4 MiB); a plugin's own ceiling can only be lower. */
  maxResponseBytes: number;
  /** Request body ceiling (default 4 MiB). */
  maxRequestBytes: number;
  /** A timeout clamped below this fails fast with `timeout` (default 5). */
  minUsefulTimeoutMs: number;
  /** Redirects followed per sub-request (default 3); 0 hands 3xx responses back as they are. */
  maxRedirects: number;
  /** Resolves a name at connect time (default: `dns.lookup`, all addresses); tests inject a fake DNS here. */
  resolveHost?: HostResolver;
  logger: Logger;
}

export interface PluginSubrequestPolicy {
  plugin: string;
  /** `host` (default port), `host:port`, `host:*`, an address or a CIDR range (`allow-list.ts`); [] means no outbound at all. */
  allowedHosts: string[];
  /** Per-plugin cap on in-flight sub-requests. */
  maxInFlight: number;
  /** Plugin default timeout, else options.defaultTimeoutMs. */
  timeoutMs?: number;
  /** Plugin response ceiling, bounded by options.maxResponseBytes. */
  maxResponseBytes?: number;
}

export interface SubrequestRecord {
  plugin: string;
  method: string;
  /** Scheme, host and path: no userinfo, query or fragment. */
  url: string;
  status?: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  outcome: 'ok' | SubrequestError['tag'];
}

export interface ParentRequest {
  requestId: string;
  attempt: number;
  /** The client request's trace context (parsed incoming or started). */
  traceparent: TraceContext;
  /** The calling hook's span when tracing is on: each sub-request's span is its child, and its traceparent is sent. */
  span?: Span | undefined;
  /** The client request's call depth (0 for a request from outside). */
  depth: number;
  /** Epoch ms when the client request times out. */
  deadline: number;
  /** Aborted on client disconnect or parent timeout. */
  signal: AbortSignal;
  /** The gateway lists these in the access log. */
  record(entry: SubrequestRecord): void;
}

export const DEFAULT_OPTIONS: Readonly<Omit<SubrequestBridgeOptions, 'logger'>> = {
  maxInFlight: 256,
  connectTimeoutMs: 1000,
  defaultTimeoutMs: 5000,
  maxResponseBytes: 4 * 1024 * 1024,
  maxRequestBytes: 4 * 1024 * 1024,
  minUsefulTimeoutMs: 5,
  maxRedirects: 3,
};

export function resolveOptions(options: Partial<SubrequestBridgeOptions> & { logger: Logger }): SubrequestBridgeOptions {
  const merged: SubrequestBridgeOptions = { ...DEFAULT_OPTIONS, ...options };
  for (const key of Object.keys(DEFAULT_OPTIONS) as Array<keyof typeof DEFAULT_OPTIONS>) {
    const v = merged[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new RangeError(`subrequest option ${key} must be a finite number >= 0, got ${String(v)}`);
    }
  }
  return merged;
}

/** Settings of the one shared undici Agent (the benchmark's direct client uses the same). */
export function agentOptions(o: Pick<SubrequestBridgeOptions, 'connectTimeoutMs' | 'defaultTimeoutMs'>): Agent.Options {
  return {
    connect: { timeout: o.connectTimeoutMs },
    headersTimeout: o.defaultTimeoutMs,
    bodyTimeout: o.defaultTimeoutMs,
    keepAliveTimeout: 4000,
    keepAliveMaxTimeout: 60_000,
  };
}
