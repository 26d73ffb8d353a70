/**
 * The host side of `http-subrequest`: checks a guest's request against the plugin's policy,
 * runs it on one shared undici Agent under the bounds, and never rejects.
 */
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { HeaderList, Subrequest, SubrequestError, SubrequestResult } from '../component/types.ts';
import { addressDenial, systemResolver } from './address-guard.ts';
import { OutboundAgents } from './agents.ts';
import { compileAllowList } from './allow-list.ts';
import { classifyError } from './errors.ts';
import { endSubrequestSpan, startSubrequestSpan } from '../observability/tracing.ts';
import { outgoingHeaders, responseHeaderList } from './identity.ts';
import { acquireBoth, KeyedLimiter, Semaphore } from './limits.ts';
import {
  agentOptions,
  resolveOptions,
  type ParentRequest,
  type PluginSubrequestPolicy,
  type SubrequestBridgeOptions,
} from './options.ts';
import { checkUrl, loggableUrl } from './policy.ts';
import { declaredTooLarge, discardBody, readBounded } from './read-body.ts';
import { isRedirect, nextHop, type Hop } from './redirect.ts';
import { routeExchange } from './route-exchange.ts';
import { type RouteTarget, isRouteUrl, parseRouteUrl, routeAllowed } from './route-target.ts';
import { effectiveTimeout } from './timeout.ts';

/** What one sub-request did, for the log line and the parent's record. */
interface Tally {
  status: number | undefined;
  bytesIn: number;
  bytesOut: number;
  /** The sub-request span's own traceparent when tracing is on (else the host derives one). */
  traceparent: string | undefined;
}

function fail(error: SubrequestError): SubrequestResult {
  return { ok: false, error };
}

function flatHeaders(headers: HeaderList): string[] {
  const flat: string[] = [];
  for (const [name, value] of headers) flat.push(name, value);
  return flat;
}

export class SubrequestBridge {
  readonly #options: SubrequestBridgeOptions;
  readonly #logger: Logger;
  readonly #agents: OutboundAgents;
  readonly #global: Semaphore;
  readonly #perPlugin = new KeyedLimiter();
  #closed = false;
  #routeTarget: RouteTarget | undefined;

  constructor(options: Partial<SubrequestBridgeOptions> & { logger: Logger }) {
    this.#options = resolveOptions(options);
    this.#logger = this.#options.logger;
    this.#global = new Semaphore(this.#options.maxInFlight);
    this.#agents = new OutboundAgents({
      agent: agentOptions(this.#options),
      connectTimeoutMs: this.#options.connectTimeoutMs,
      resolve: this.#options.resolveHost ?? systemResolver,
    });
  }

  /** Serves `route://` sub-requests through the gateway's own chain (set by the gateway once it listens). */
  serveRoutes(target: RouteTarget): void {
    this.#routeTarget = target;
  }

  /** True when the global cap is full: the gateway answers new client requests 429. */
  saturated(): boolean {
    return this.#global.full;
  }

  inFlight(): number {
    return this.#global.used;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#agents.close();
  }

  /** Runs all concurrently under the same bounds; results in input order. */
  sendAll(parent: ParentRequest, policy: PluginSubrequestPolicy, reqs: Subrequest[]): Promise<SubrequestResult[]> {
    return Promise.all(reqs.map((req) => this.send(parent, policy, req)));
  }

  async send(parent: ParentRequest, policy: PluginSubrequestPolicy, req: Subrequest): Promise<SubrequestResult> {
    const started = performance.now();
    const traced = startSubrequestSpan(parent.span, policy.plugin, req.method, req.url, parent.attempt);
    const tally: Tally = { status: undefined, bytesIn: 0, bytesOut: 0, traceparent: traced?.traceparent };
    let result: SubrequestResult;
    try {
      result = await this.#admit(parent, policy, req, tally);
    } catch (err) {
      result = fail({ tag: 'protocol', reason: `internal: ${err instanceof Error ? err.message : String(err)}` });
    }
    this.#report(parent, policy, req, tally, result, performance.now() - started);
    if (traced) endSubrequestSpan(traced.span, result.ok ? 'ok' : result.error.tag, tally.status, tally.bytesIn, tally.bytesOut);
    return result;
  }

  /** The checks that open no connection, then a slot under both caps. */
  async #admit(parent: ParentRequest, policy: PluginSubrequestPolicy, req: Subrequest, tally: Tally): Promise<SubrequestResult> {
    if (this.#closed) return fail({ tag: 'overloaded' });
    // `route://<name>/...`: through the gateway's own chain (route-target.ts), granted by name.
    const route = isRouteUrl(req.url) ? parseRouteUrl(req.url) : undefined;
    if (route && !route.ok) return fail({ tag: 'denied', reason: route.reason });
    if (route && !routeAllowed(policy.allowedHosts, route.route)) return fail({ tag: 'denied', reason: `route://${route.route} not allowed` });
    if (route && !this.#routeTarget) return fail({ tag: 'denied', reason: 'route targets are served only by the gateway' });
    const check = route ? undefined : checkUrl(req.url, policy.allowedHosts);
    if (check && !check.ok) return fail({ tag: 'denied', reason: check.reason });
    if (req.body !== undefined && req.body.byteLength > this.#options.maxRequestBytes) return fail({ tag: 'too-large' });
    if (parent.signal.aborted) return fail({ tag: 'cancelled' });
    const timeoutMs = effectiveTimeout({
      guestMs: req.timeoutMs,
      policyMs: policy.timeoutMs,
      defaultMs: this.#options.defaultTimeoutMs,
      parentDeadline: parent.deadline,
      minUsefulMs: this.#options.minUsefulTimeoutMs,
      now: Date.now(),
    });
    if (timeoutMs === undefined) return fail({ tag: 'timeout' });
    const release = acquireBoth(this.#global, this.#perPlugin, policy.plugin, policy.maxInFlight);
    if (release === undefined) return fail({ tag: 'overloaded' });
    try {
      if (route?.ok && this.#routeTarget) {
        return await routeExchange(this.#routeTarget, {
          route: route.route, path: route.path, method: req.method, body: req.body, timeoutMs, parentSignal: parent.signal,
          headers: outgoingHeaders(req.headers, parent, tally.traceparent),
          maxBytes: Math.min(policy.maxResponseBytes ?? Infinity, this.#options.maxResponseBytes),
        }, tally);
      }
      return await this.#exchange(parent, policy, req, check!.url, timeoutMs, tally);
    } finally {
      release();
    }
  }

  /** The request and its redirects, all under one timeout, one ceiling and one slot. */
  async #exchange(
    parent: ParentRequest,
    policy: PluginSubrequestPolicy,
    req: Subrequest,
    firstUrl: URL,
    timeoutMs: number,
    tally: Tally,
  ): Promise<SubrequestResult> {
    const timer = new AbortController();
    const handle = setTimeout(() => timer.abort(new DOMException('sub-request timed out', 'TimeoutError')), timeoutMs);
    const signal = AbortSignal.any([parent.signal, timer.signal]);
    const deadline = performance.now() + timeoutMs;
    const maxBytes = Math.min(policy.maxResponseBytes ?? Infinity, this.#options.maxResponseBytes);
    const failure = (err: unknown, phase: 'head' | 'body'): SubrequestResult => {
      if (parent.signal.aborted) return fail({ tag: 'cancelled' });
      if (timer.signal.aborted) return fail({ tag: 'timeout' });
      const denial = addressDenial(err);
      if (denial !== undefined) {
        try {
          this.#logger.warn(
            { requestId: parent.requestId, plugin: policy.plugin, host: denial.host, address: denial.address, category: denial.category },
            'subrequest address denied',
          );
        } catch {
          // a broken log sink must not fail the guest's call
        }
        return fail({ tag: 'denied', reason: denial.message });
      }
      return fail(classifyError(err, phase));
    };
    // Every hop connects through the Agent of this plugin's address rules (address-guard.ts).
    const agent = this.#agents.for(compileAllowList(policy.allowedHosts));

    let url = firstUrl;
    let hop: Hop = { method: req.method, headers: outgoingHeaders(req.headers, parent, tally.traceparent), body: req.body };
    try {
      for (let redirects = 0; ; redirects++) {
        const remaining = Math.max(1, Math.ceil(deadline - performance.now()));
        let res: Dispatcher.ResponseData;
        try {
          tally.bytesOut += hop.body?.byteLength ?? 0;
          res = await agent.request({
            origin: url.origin,
            path: `${url.pathname}${url.search}`,
            method: hop.method,
            headers: flatHeaders(hop.headers),
            body: hop.body ?? null,
            signal,
            headersTimeout: remaining,
            bodyTimeout: remaining,
          });
        } catch (err) {
          return failure(err, 'head');
        }
        tally.status = res.statusCode;

        const location = res.headers.location;
        if (isRedirect(res.statusCode) && this.#options.maxRedirects > 0 && typeof location === 'string') {
          discardBody(res.body);
          if (redirects >= this.#options.maxRedirects) {
            return fail({ tag: 'protocol', reason: `too many redirects (max ${this.#options.maxRedirects})` });
          }
          const target = checkUrl(location, policy.allowedHosts, url);
          if (!target.ok) return fail({ tag: 'denied', reason: `redirect to ${redirectHost(location, url)}: ${target.reason}` });
          hop = nextHop(res.statusCode, hop, url, target.url);
          url = target.url;
          continue;
        }

        // A HEAD, 204 or 304 response's content-length describes a body that does not come.
        const bodyless = hop.method.toUpperCase() === 'HEAD' || res.statusCode === 204 || res.statusCode === 304;
        if (!bodyless && declaredTooLarge(res.headers['content-length'], maxBytes)) {
          discardBody(res.body);
          return fail({ tag: 'too-large' });
        }
        try {
          const read = await readBounded(res.body, maxBytes);
          tally.bytesIn = read.bytes;
          if (!read.ok) return fail({ tag: 'too-large' });
          return { ok: true, value: { status: res.statusCode, headers: responseHeaderList(res.headers), body: read.body } };
        } catch (err) {
          return failure(err, 'body');
        }
      }
    } finally {
      clearTimeout(handle);
    }
  }

  #report(parent: ParentRequest, policy: PluginSubrequestPolicy, req: Subrequest, tally: Tally, result: SubrequestResult, ms: number): void {
    const entry = {
      plugin: policy.plugin,
      method: req.method,
      url: loggableUrl(req.url),
      ...(tally.status !== undefined ? { status: tally.status } : {}),
      bytesIn: tally.bytesIn,
      bytesOut: tally.bytesOut,
      durationMs: Math.round(ms * 1000) / 1000,
      outcome: result.ok ? ('ok' as const) : result.error.tag,
    };
    try {
      this.#logger.info({ requestId: parent.requestId, ...entry }, 'subrequest');
    } catch {
      // a broken log sink must not fail the guest's call
    }
    try {
      parent.record(entry);
    } catch (err) {
      this.#logger.warn({ requestId: parent.requestId, err }, 'subrequest record callback threw');
    }
  }
}

function redirectHost(location: string, base: URL): string {
  try {
    return new URL(location, base).host;
  } catch {
    return JSON.stringify(location);
  }
}
