/**
 * Admission: what both front doors (the gateway's listener and the ext_proc service) decide about
 * a request before any filter runs. Its identity (request id, depth), the gateway's refusals in
 * one order (loop guard, saturation, a malformed request, an unacceptable request-target, no
 * route), the route, and the request's context. The front doors differ only in how they read a
 * request and how they answer a refusal, so those stay with them.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { HeaderList } from '../component/types.ts';
import type { RouteConfig } from '../config/types.ts';
import { type PathPolicy, normaliseTarget } from '../gateway/paths.ts';
import { DEPTH_HEADER, parseTraceparent } from '../subrequest/index.ts';
import { getHeader } from './headers.ts';
import { type RequestContext, createRequestContext } from './request-context.ts';

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

export interface RequestIdentity {
  /** The client's request id when it is a sane token (visible ASCII, at most 128 chars); else a fresh one. */
  id: string;
  /** The id was made here (the client sent none, or one that is not a sane token). */
  idIsNew: boolean;
  /** The loop-guard depth; a negative or unparsable one counts as 0, so it cannot buy a loop extra levels. */
  depth: number;
}

export function requestIdentity(headers: HeaderList): RequestIdentity {
  const incoming = getHeader(headers, 'x-request-id');
  const idIsNew = incoming === undefined || !REQUEST_ID.test(incoming);
  const depth = Math.max(0, Number(getHeader(headers, DEPTH_HEADER) ?? 0) || 0);
  return { id: idIsNew ? randomUUID() : incoming, idIsNew, depth };
}

/** What admission consults: the gateway's and the ext_proc service's state both fit. */
export interface AdmissionGate {
  readonly maxDepth: number;
  readonly bridge: { saturated(): boolean };
  readonly paths: PathPolicy;
  readonly routes: { match(path: string, headers: HeaderList): RouteConfig | undefined };
  readonly logger: Logger;
}

export interface AdmissionRequest {
  identity: RequestIdentity;
  /** The request-target as received. */
  target: string;
  /** The headers routes match on. */
  headers: HeaderList;
  /** Why the front door found the request malformed (a 400), checked after saturation and before the path. */
  malformed?: string;
}

export type RefusalType = 'loop_detected' | 'overloaded' | 'bad_request' | 'no_route';

export type Admission =
  | {
    kind: 'refused'; status: 400 | 404 | 429 | 508; type: RefusalType;
    /** Fields for the access log (never for the client). */
    log: Record<string, unknown>;
    /** The normalised path and query, once there is one. */
    path?: string;
  }
  | { kind: 'admitted'; route: RouteConfig; path: string; ctx: RequestContext };

export function admit(gate: AdmissionGate, request: AdmissionRequest): Admission {
  const { id, depth } = request.identity;
  if (depth > gate.maxDepth) return { kind: 'refused', status: 508, type: 'loop_detected', log: { depth, maxDepth: gate.maxDepth } };
  if (gate.bridge.saturated()) return { kind: 'refused', status: 429, type: 'overloaded', log: {} };
  if (request.malformed !== undefined) return { kind: 'refused', status: 400, type: 'bad_request', log: { refused: request.malformed } };
  // Routing, filters and the upstream all see the one normalised path (see gateway/paths.ts).
  const verdict = normaliseTarget(request.target, gate.paths);
  if (!verdict.ok) return { kind: 'refused', status: 400, type: 'bad_request', log: { refused: verdict.reason } };
  const path = verdict.path + verdict.query;
  const route = gate.routes.match(verdict.path, request.headers);
  if (!route) return { kind: 'refused', status: 404, type: 'no_route', log: path === request.target ? {} : { target: request.target }, path };
  const ctx = createRequestContext({
    id, route: route.name, timeoutMs: route.timeoutMs ?? 30_000,
    trace: parseTraceparent(getHeader(request.headers, 'traceparent')), depth, logger: gate.logger,
  });
  return { kind: 'admitted', route, path, ctx };
}
