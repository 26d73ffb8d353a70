/**
 * One route's filter chain, in the vocabulary of praxis's native filters. Request hooks run in
 * chain order; response hooks run in reverse, over the filters whose request hooks ran (so a
 * filter that wrapped the request sees the response first, like nested middleware). A header
 * hook the filter did not declare in its `headerHooks` is never called.
 */
import type { Action, FilterInstance, Mutations, Rejection, RequestHead, RequestInfo, ResponseHead } from '../component/types.ts';
import { BodyChain, type Direction } from './body-chain.ts';
import type { ChainFilter } from './filter.ts';
import { PATH_PSEUDO, applyHeaderMutations, filterPath } from './headers.ts';
import type { HookInvoker } from './invoke.ts';
import type { RequestContext } from './request-context.ts';

export interface RequestHeadersOutcome {
  head: RequestHead;
  /**
   * Filters whose request-headers hook ran and continued, in chain order; a filter that does not
   * declare that hook (`headerHooks.requestHeaders` off) is not called and counts as passed.
   */
  passed: ChainFilter[];
  upstream?: string;
  /** A filter replaced the request body outright. */
  body?: Uint8Array;
  rejection?: { rejection: Rejection; plugin: string };
  /** The filter that last set the endpoint-picker header: the one named when its pick is refused. */
  endpointPickedBy?: string;
}

/** The Gateway API Inference Extension's endpoint-picker header (see gateway/endpoint-pick.ts). */
export const DESTINATION_HEADER = 'x-gateway-destination-endpoint';

export interface ResponseHeadersOutcome {
  head: ResponseHead;
  body?: Uint8Array;
  rejection?: { rejection: Rejection; plugin: string };
}

export class Pipeline {
  readonly filters: readonly ChainFilter[];
  private readonly invoker: HookInvoker;

  constructor(filters: ChainFilter[], invoker: HookInvoker) {
    this.filters = filters;
    this.invoker = invoker;
  }

  private info(ctx: RequestContext): RequestInfo {
    return { requestId: ctx.id, attempt: ctx.attempt, route: ctx.route };
  }

  async requestHeaders(ctx: RequestContext, head: RequestHead): Promise<RequestHeadersOutcome> {
    // The caller's head is never changed: a mutation replaces `out.head` (applyRequestMutations).
    const out: RequestHeadersOutcome = { head, passed: [] };
    if (this.filters.length === 0) return out;
    const info = this.info(ctx);
    for (const filter of this.filters) {
      if (!filter.info.headerHooks.requestHeaders) {
        out.passed.push(filter);
        continue;
      }
      const current = out.head;
      const action = await this.invoker.invoke(filter, ctx, 'on-request-headers', (i, h) => i.onRequestHeaders(h, info, current));
      if (action.tag === 'reject') {
        out.rejection = { rejection: action.rejection, plugin: filter.name };
        return out;
      }
      out.passed.push(filter);
      if (action.tag === 'continue' && action.mutations) {
        applyRequestMutations(out, action.mutations);
        for (const [k] of action.mutations.setHeaders) if (k.length === DESTINATION_HEADER.length && k.toLowerCase() === DESTINATION_HEADER) out.endpointPickedBy = filter.name;
      }
    }
    return out;
  }

  /**
   * The chain of body stages for one direction, over the given filters; the shared empty chain
   * when none of them reads that body (most responses), with nothing built per request.
   */
  bodyChain(ctx: RequestContext, filters: readonly ChainFilter[], direction: Direction): BodyChain {
    if (!readsBody(filters, direction)) return NO_BODY_CHAIN;
    const ordered = direction === 'request' ? [...filters] : [...filters].reverse();
    const hook = direction === 'request' ? 'on-request-body' : 'on-response-body';
    const info = this.info(ctx);
    return new BodyChain(ordered, direction, (filter, chunk, eos) =>
      this.invoker.invoke(filter, ctx, hook, (i: FilterInstance, h) =>
        direction === 'request' ? i.onRequestBody(h, info, chunk, eos) : i.onResponseBody(h, info, chunk, eos)));
  }

  async responseHeaders(ctx: RequestContext, passed: readonly ChainFilter[], head: ResponseHead): Promise<ResponseHeadersOutcome> {
    // As for requests: a mutation replaces `out.head`, the upstream's head is never changed.
    const out: ResponseHeadersOutcome = { head };
    if (passed.length === 0) return out;
    const info = this.info(ctx);
    for (let i = passed.length - 1; i >= 0; i--) {
      const filter = passed[i]!;
      if (!filter.info.headerHooks.responseHeaders) continue;
      const current = out.head;
      const action: Action = await this.invoker.invoke(filter, ctx, 'on-response-headers', (inst, h) => inst.onResponseHeaders(h, info, current));
      if (action.tag === 'reject') {
        out.rejection = { rejection: action.rejection, plugin: filter.name };
        return out;
      }
      if (action.tag === 'continue' && action.mutations) {
        out.head = { ...out.head, headers: applyHeaderMutations(out.head.headers, action.mutations) };
        if (action.mutations.body) out.body = action.mutations.body;
      }
    }
    return out;
  }
}

/** Whether any of `filters` has a body mode other than none for `direction`. */
function readsBody(filters: readonly ChainFilter[], direction: Direction): boolean {
  for (const f of filters) {
    if ((direction === 'request' ? f.info.requestBody : f.info.responseBody).tag !== 'none') return true;
  }
  return false;
}

const NO_BODY_CHAIN = new BodyChain([], 'request', () => Promise.reject(new Error('no filter reads this body')));

export function applyRequestMutations(out: { head: RequestHead; upstream?: string; body?: Uint8Array }, m: Mutations): void {
  // `:path` (checked by the invoker) rewrites the upstream's path, normalised, not a header.
  const path = m.setHeaders.findLast(([k]) => k === PATH_PSEUDO);
  if (path) {
    out.head = { ...out.head, path: filterPath(path[1]) ?? out.head.path };
    m = { ...m, setHeaders: m.setHeaders.filter(([k]) => k !== PATH_PSEUDO) };
  }
  out.head = { ...out.head, headers: applyHeaderMutations(out.head.headers, m) };
  if (m.upstream !== undefined) out.upstream = m.upstream;
  if (m.body !== undefined) out.body = m.body;
}

