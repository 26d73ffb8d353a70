/**
 * OpenTelemetry spans for the request path, written against `@opentelemetry/api` only: the SDK
 * is loaded (tracing-setup.ts) only when tracing is switched on, and hands a tracer in here.
 *
 * Zero cost when off: every entry point first reads one module variable (`tracer`) and returns
 * `undefined` when it is null, before any context, closure or attribute object is made. Call
 * sites hold the returned span (or `undefined`) in a local and pass it back; nothing per request
 * is allocated for tracing while it is off.
 *
 * Contexts are passed explicitly (parent span -> child), never through a context manager, so no
 * AsyncLocalStorage is involved even when on.
 */
import {
  type Context, type Span, type TextMapGetter, type TextMapPropagator, type Tracer,
  ROOT_CONTEXT, SpanKind, SpanStatusCode, trace,
} from '@opentelemetry/api';
import type { HeaderList } from '../component/types.ts';

export type { Span } from '@opentelemetry/api';

let tracer: Tracer | null = null;
let propagator: TextMapPropagator | null = null;

/** Switches spans on (a tracer and the W3C propagator from the SDK) or off (null). */
export function installTracer(next: { tracer: Tracer; propagator: TextMapPropagator } | null): void {
  tracer = next?.tracer ?? null;
  propagator = next?.propagator ?? null;
}

export function tracingOn(): boolean {
  return tracer !== null;
}

/**
 * The server span's context of each request, so hook and upstream spans find their parent
 * without a field on the request context; made once per request, not once per child.
 */
const requestSpans = new WeakMap<object, Context>();

const headerGetter: TextMapGetter<HeaderList> = {
  keys: (carrier) => carrier.map(([k]) => k),
  get: (carrier, key) => {
    for (const [k, v] of carrier) if (k === key) return v;
    return undefined;
  },
};

/**
 * The SERVER span of one client request, joined to the client's `traceparent` (and `tracestate`).
 * `headers` are lower-case name/value pairs as the gateway holds them.
 */
export function startServerSpan(headers: HeaderList, method: string, path: string, requestId: string): Span | undefined {
  if (tracer === null) return undefined;
  const parent = propagator!.extract(ROOT_CONTEXT, headers, headerGetter);
  const q = path.indexOf('?');
  return tracer.startSpan(method, {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': method, 'url.path': q < 0 ? path : path.slice(0, q), 'praxis.request_id': requestId },
  }, parent);
}

/** Ties the request's context (hook calls, sub-requests, the upstream) to its server span. */
export function bindRequest(request: object, span: Span | undefined, method: string, route: string): void {
  if (span === undefined) return;
  requestSpans.set(request, trace.setSpan(ROOT_CONTEXT, span));
  span.setAttribute('praxis.route', route);
  span.updateName(`${method} ${route}`);
}

/** Ends the server span with the status the client got (an error status from 500 up, per the HTTP conventions). */
export function endServerSpan(span: Span | undefined, status: number): void {
  if (span === undefined) return;
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** Ends the server span bound to `request` (where the span was not kept by the caller: ext_proc). */
export function endRequestSpan(request: object, status: number): void {
  if (tracer === null) return;
  const parent = requestSpans.get(request);
  endServerSpan(parent && trace.getSpan(parent), status);
}

function childContext(request: object): Context {
  return requestSpans.get(request) ?? ROOT_CONTEXT;
}

/** An INTERNAL span for one hook call of one plugin, under the request's server span. */
export function startHookSpan(request: object, plugin: string, hook: string): Span | undefined {
  if (tracer === null) return undefined;
  return tracer.startSpan(`${plugin} ${hook}`, {
    kind: SpanKind.INTERNAL,
    attributes: { 'praxis.plugin': plugin, 'praxis.hook': hook },
  }, childContext(request));
}

/** The hook decided: `continue`, `reject`, ... (the action's tag). */
export function hookDecided(span: Span | undefined, decision: string): void {
  if (span === undefined) return;
  span.setAttribute('praxis.decision', decision);
}

/** The hook failed with `kind`; `failOpen` skips the filter (decision continue), else the request fails. */
export function hookFailed(span: Span | undefined, kind: string, failOpen: boolean): void {
  if (span === undefined) return;
  span.setAttributes({ 'praxis.failure': kind, 'praxis.decision': failOpen ? 'continue' : 'fail' });
  span.setStatus({ code: SpanStatusCode.ERROR, message: kind });
}

export function endSpan(span: Span | undefined): void {
  if (span !== undefined) span.end();
}

/** The `traceparent` (and `tracestate`) naming `span`, for the callee it stands for. */
function injected(span: Span): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagator!.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, { set: (c, k, v) => { c[k] = v; } });
  return carrier;
}

/** A CLIENT span for one sub-request, under the span of the hook that made it; with the traceparent it sends. */
export function startSubrequestSpan(
  hookSpan: Span | undefined, plugin: string, method: string, url: string, attempt: number,
): { span: Span; traceparent: string } | undefined {
  if (tracer === null || hookSpan === undefined) return undefined;
  let host = '';
  try { host = new URL(url).hostname; } catch { /* the bridge refuses it; the span says so */ }
  const span = tracer.startSpan(`${method} ${host}`, {
    kind: SpanKind.CLIENT,
    attributes: { 'http.request.method': method, 'server.address': host, 'praxis.plugin': plugin, 'praxis.attempt': attempt },
  }, trace.setSpan(ROOT_CONTEXT, hookSpan));
  return { span, traceparent: injected(span).traceparent ?? '' };
}

/** Ends a sub-request span with what the bridge recorded. */
export function endSubrequestSpan(span: Span, outcome: string, status: number | undefined, bytesIn: number, bytesOut: number): void {
  span.setAttributes({ 'praxis.outcome': outcome, 'http.request.body.size': bytesOut, 'http.response.body.size': bytesIn });
  if (status !== undefined) span.setAttribute('http.response.status_code', status);
  if (outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
  span.end();
}

/**
 * A CLIENT span for one upstream attempt, under the request's server span. Its context replaces
 * any `traceparent`/`tracestate` in `flat` (the upstream's head, name/value flattened), so the
 * upstream's own spans hang under this attempt.
 */
export function startUpstreamSpan(request: object, upstream: string, origin: string, attempt: number, flat: string[]): Span | undefined {
  if (tracer === null) return undefined;
  let host = origin;
  let port: number | undefined;
  try {
    const u = new URL(origin);
    host = u.hostname;
    port = u.port === '' ? undefined : Number(u.port);
  } catch { /* keep the origin as given */ }
  const span = tracer.startSpan(`upstream ${upstream}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'server.address': host, ...(port !== undefined ? { 'server.port': port } : {}),
      'praxis.upstream': upstream, 'praxis.attempt': attempt,
    },
  }, childContext(request));
  for (let i = flat.length - 2; i >= 0; i -= 2) {
    if (flat[i] === 'traceparent' || flat[i] === 'tracestate') flat.splice(i, 2);
  }
  for (const [k, v] of Object.entries(injected(span))) flat.push(k, v);
  return span;
}

/** Ends an upstream span when its response head arrives (`status`) or the attempt fails (`error`). */
export function endUpstreamSpan(span: Span | undefined, status: number | undefined, error?: unknown): void {
  if (span === undefined) return;
  if (status !== undefined) {
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  } else {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}
