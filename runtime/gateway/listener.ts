/**
 * The client-facing bounds of the listener: how long a request head and body may take, how
 * long an idle keep-alive connection stays, how many connections and header fields a client may
 * hold. Clients are untrusted: without these a trickle of half-sent requests holds sockets (and
 * file descriptors) forever.
 */
import type { IncomingMessage, Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { ListenConfig } from '../config/types.ts';
import { SweptDeadline, list, unlist } from './deadline-sweep.ts';

export const LISTEN_DEFAULTS = {
  headersTimeoutMs: 10_000,
  requestBodyIdleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 10_000,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 100,
} as const satisfies Required<Omit<ListenConfig, 'host' | 'port'>>;

export type ListenBounds = { readonly [K in keyof typeof LISTEN_DEFAULTS]: number };

export function listenBounds(cfg: ListenConfig = {}): ListenBounds {
  return {
    headersTimeoutMs: cfg.headersTimeoutMs ?? LISTEN_DEFAULTS.headersTimeoutMs,
    requestBodyIdleTimeoutMs: cfg.requestBodyIdleTimeoutMs ?? LISTEN_DEFAULTS.requestBodyIdleTimeoutMs,
    keepAliveTimeoutMs: cfg.keepAliveTimeoutMs ?? LISTEN_DEFAULTS.keepAliveTimeoutMs,
    maxConnections: cfg.maxConnections ?? LISTEN_DEFAULTS.maxConnections,
    maxHeaderBytes: cfg.maxHeaderBytes ?? LISTEN_DEFAULTS.maxHeaderBytes,
    maxHeaderCount: cfg.maxHeaderCount ?? LISTEN_DEFAULTS.maxHeaderCount,
  };
}

/** node:http options for the bounds. Node answers a late head with 408 and an oversized one with 431. */
export function serverOptions(b: ListenBounds): ServerOptions {
  return {
    keepAlive: true,
    // No whole-request deadline from node: the route's timeout bounds an exchange, and the body
    // idle watch a trickling upload. (requestTimeout 0 alone would also zero headersTimeout.)
    requestTimeout: 0,
    headersTimeout: b.headersTimeoutMs,
    keepAliveTimeout: b.keepAliveTimeoutMs,
    // Node checks head deadlines on this interval (default 30 s, which would stretch a 10 s bound to 40).
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(b.headersTimeoutMs / 4))),
    maxHeaderSize: b.maxHeaderBytes,
  };
}

/** Caps that node:http takes as server properties rather than options. */
export function applyCaps(server: Server, b: ListenBounds): void {
  server.maxConnections = b.maxConnections;
  // Node 24 answers a head with more fields than this 431 and closes (older Nodes truncated).
  server.maxHeadersCount = b.maxHeaderCount;
  server.keepAliveTimeout = b.keepAliveTimeoutMs;
}

/** The client stopped sending its request body mid-way. */
export class RequestBodyTimeout extends Error {
  readonly ms: number;
  constructor(ms: number) {
    super(`no request-body bytes for ${ms} ms`);
    this.ms = ms;
  }
}

/**
 * Calls `onIdle` once when no request-body bytes arrive for `idleMs` while the gateway waits for
 * them. Bytes buffered unread mean the gateway (a filter, the upstream) is the slow side, so
 * they count as progress. Checked at a quarter of the bound: a stall is caught within 1.25x.
 */
export function watchRequestBody(req: IncomingMessage, idleMs: number, onIdle: () => void): void {
  if (req.complete) return;
  const watched = req as Watched;
  watched[WATCH] = new BodyWatch(req, idleMs, onIdle);
  // Plain listeners reading the watch off the request: no closures or once-wrappers per request.
  req.on('end', endWatch).on('close', endWatch);
}

const WATCH = Symbol('request-body watch');
type Watched = IncomingMessage & { [WATCH]?: BodyWatch };

function endWatch(this: Watched): void {
  const watch = this[WATCH];
  if (watch) unlist(watch);
}

/** On the exchanges' deadline sweep (deadline-sweep.ts) rather than an interval of its own per request. */
class BodyWatch extends SweptDeadline {
  private readonly req: IncomingMessage;
  private readonly socket: Socket;
  private readonly idleMs: number;
  private readonly every: number;
  private readonly onIdle: () => void;
  private seen: number;
  private lastProgress: number;

  constructor(req: IncomingMessage, idleMs: number, onIdle: () => void) {
    super();
    this.req = req;
    this.socket = req.socket;
    this.idleMs = idleMs;
    this.onIdle = onIdle;
    this.every = Math.max(10, Math.floor(idleMs / 4));
    this.seen = this.socket.bytesRead;
    this.lastProgress = performance.now();
    this.due = this.lastProgress + this.every;
    list(this);
  }

  onDue(now: number): void {
    const { req, socket } = this;
    if (req.complete || req.destroyed) return unlist(this);
    if (socket.bytesRead !== this.seen || req.readableLength > 0) {
      this.seen = socket.bytesRead;
      this.lastProgress = now;
    } else if (now - this.lastProgress >= this.idleMs) {
      unlist(this);
      return this.onIdle();
    }
    this.due = now + this.every;
  }
}
