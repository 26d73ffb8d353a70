/**
 * One ext_proc stream: one HTTP request as Envoy sees it, phase by phase. Each message runs the
 * same pipeline the gateway runs (route match, request hooks, body chain, response hooks), and
 * its decisions become Envoy's answer: header and body mutations, an immediate response, the
 * processing mode for the rest of the stream, the endpoint pick.
 */
import type { HeaderList, RequestHead } from '../component/types.ts';
import { BodyRejected, passChunk } from '../pipeline/body-flow.ts';
import type { BodyChain } from '../pipeline/body-chain.ts';
import type { ChainFilter } from '../pipeline/filter.ts';
import { applyHeaderMutations, getHeader } from '../pipeline/headers.ts';
import { FilterFailure, RequestCancelled } from '../pipeline/invoke.ts';
import { type Pipeline, applyRequestMutations } from '../pipeline/pipeline.ts';
import type { RequestContext } from '../pipeline/request-context.ts';
import { withoutClientPick } from '../gateway/endpoint-pick.ts';
import { type Admission, type StreamPhase, admit } from './admission.ts';
import { DESTINATION_HEADER, answer, endpointAddresses, endpointMetadata, errorAnswer, failureAnswer } from './answers.ts';
import { type BodySendMode, type CommonResponse, type HeaderValueOption, type HttpBody, type HttpHeaders, type ImmediateResponse, type ProcessingRequest, type ProcessingResponse, headerDiff, option, splitHeaders } from './messages.ts';
import { processingMode } from './modes.ts';
import type { ExtProcState } from './state.ts';

const EMPTY = Buffer.alloc(0);

/** How a stream's first message is admitted: the route phase's admission, or an upstream phase's. */
export type Admitter = (state: ExtProcState, msg: ProcessingRequest) => Admission;
const routeAdmitter: Admitter = (state, msg) => admit(state, msg.requestHeaders?.headers);

/** Concatenated output of a body step, or undefined when it is exactly the chunk that came in. */
function replaced(chunk: Buffer, out: Buffer[]): Buffer | undefined {
  if (out.length === 1 && out[0] === chunk) return undefined;
  if (out.length === 0 && chunk.length === 0) return undefined;
  return out.length === 1 ? out[0]! : Buffer.concat(out);
}

export class ExtProcStream {
  private readonly state: ExtProcState;
  readonly startedAt = performance.now();
  private ctx: RequestContext | undefined;
  private pipeline: Pipeline | undefined;
  private passed: ChainFilter[] = [];
  private requestHead: RequestHead | undefined;
  private requestChain: BodyChain | undefined;
  private responseChain: BodyChain | undefined;
  private responseHeaders: HeaderList = [];
  private modes: { request: BodySendMode; response: BodySendMode } = { request: 'NONE', response: 'NONE' };
  /** Body messages answered so far, per direction (headers travel with the first only). */
  private bodyMessages = { request: 0, response: 0 };
  requestId = '';
  /** Status of the answer: Envoy's upstream status or the immediate response's. */
  status = 0;
  /** An immediate response went out: the stream is over. */
  finished = false;
  phase: StreamPhase = 'route';
  private readonly admitter: Admitter;
  /** Drops this route phase's context from the linked requests. */
  private unlink: (() => void) | undefined;

  constructor(state: ExtProcState, admitter: Admitter = routeAdmitter) {
    this.state = state;
    this.admitter = admitter;
  }

  /** The stream ended (answered, half-closed or cut): upstream-phase streams no longer find its context. */
  close(): void {
    this.unlink?.();
    this.unlink = undefined;
  }

  /** Envoy went away (client gone, stream reset): in-flight hooks and sub-requests are cancelled. */
  cancel(): void {
    this.ctx?.controller.abort(new RequestCancelled());
  }

  get route(): string | undefined {
    return this.ctx?.route;
  }

  get context(): RequestContext | undefined {
    return this.ctx;
  }

  async handle(msg: ProcessingRequest): Promise<ProcessingResponse | undefined> {
    try {
      if (msg.requestHeaders) return await this.onRequestHeaders(msg.requestHeaders, msg);
      if (msg.requestBody) return await this.onBody('request', msg.requestBody);
      if (msg.responseHeaders) return await this.onResponseHeaders(msg.responseHeaders);
      if (msg.responseBody) return await this.onBody('response', msg.responseBody);
      if (msg.requestTrailers) return await this.onTrailers('request');
      if (msg.responseTrailers) return await this.onTrailers('response');
      return undefined;
    } catch (err) {
      return this.failed(err, msg.responseBody !== undefined || msg.responseHeaders !== undefined);
    }
  }

  private immediate(r: ImmediateResponse): ProcessingResponse {
    this.finished = true;
    this.status = r.status.code;
    return { immediateResponse: r };
  }

  /** A failure as the gateway answers it (the filter's failure mode has already been applied). */
  private failed(err: unknown, responsePhase: boolean): ProcessingResponse | undefined {
    if (err instanceof RequestCancelled || this.ctx?.controller.signal.aborted) {
      this.finished = true;
      this.status = 499;
      return undefined;
    }
    const answer = failureAnswer(err, this.requestId, responsePhase);
    if (!answer) throw err;
    return this.immediate(answer);
  }

  private async onRequestHeaders(msg: HttpHeaders, whole: ProcessingRequest): Promise<ProcessingResponse> {
    const { state } = this;
    const a = this.admitter(state, whole);
    this.requestId = a.id;
    if (a.kind === 'refused') return this.immediate(a.answer);
    const { ctx, target } = a;
    const route = a.phase === 'route';
    this.phase = a.phase;
    // A client must not steer Envoy's endpoint choice: its own destination header is hidden from the
    // filters and removed from what Envoy forwards, unless a filter sets one (as in the gateway).
    // In the upstream phase Envoy has chosen already.
    const head = route ? withoutClientPick(a.head) : a.head;
    const clientPicked = head !== a.head;
    this.ctx = ctx;
    if (route && state.linkRoutePhase) this.unlink = state.linked.register(ctx);
    const pipeline = (this.pipeline = a.pipeline);
    const out = await pipeline.requestHeaders(ctx, head);
    this.passed = out.passed;
    if (out.rejection) return this.rejected(out.rejection.rejection, out.passed);
    this.requestChain = pipeline.bodyChain(ctx, out.passed, 'request');
    let body: Buffer | undefined = out.body === undefined ? undefined : Buffer.from(out.body);
    if (body === undefined && msg.endOfStream && this.requestChain.wanted) {
      // No body will come: the body filters see its end now, as the gateway shows them an empty one.
      try {
        const step = await passChunk(this.requestChain, EMPTY, true, (ms) => { for (const m of ms) applyRequestMutations(out, m); });
        body = out.body !== undefined ? Buffer.from(out.body) : replaced(EMPTY, step.chunks);
      } catch (err) {
        if (err instanceof BodyRejected) return this.bodyRejected(err);
        throw err;
      }
    }
    this.requestHead = out.head;
    const mode = processingMode(out.passed, msg.endOfStream === true || body !== undefined, state.envoyBufferBytes);
    // Envoy keeps a stream that still expects a message open: the route phase's context stays
    // linked until the response comes, after every attempt's upstream phase.
    if (this.unlink) mode.responseHeaderMode = 'SEND';
    this.modes = { request: mode.requestBodyMode!, response: mode.responseBodyMode! };
    const mutation = headerDiff(a.base ?? head.headers, out.head.headers) ?? {};
    const set = [...(mutation.setHeaders ?? [])];
    // Envoy sent no usable id (it makes one unless told not to): the upstream gets the one hooks saw.
    if (a.idIsNew && !set.some((o) => o.header.key === 'x-request-id')) set.push(option('x-request-id', a.id));
    // The path the filters saw (normalised, or rewritten by one with `:path`) is the one the
    // upstream gets, as in the gateway.
    if (out.head.path !== target) set.push(option(':path', out.head.path));
    const response: ProcessingResponse = { modeOverride: mode };
    if (out.upstream !== undefined) {
      if (route) this.pick(out.upstream, 'on-request-headers', set, response);
      else ctx.logger.debug('an upstream filter cannot change the upstream; ignored');
    }
    // A streamed body a filter may change has no known length: Envoy must not forward the client's.
    const removes = [...(mutation.removeHeaders ?? [])];
    if (clientPicked && !set.some((o) => o.header.key === DESTINATION_HEADER)) removes.push(DESTINATION_HEADER);
    if (this.modes.request === 'STREAMED' && getHeader(head.headers, 'content-length') !== undefined) removes.push('content-length');
    const common: CommonResponse = { headerMutation: { setHeaders: set, removeHeaders: removes } };
    if (body !== undefined) {
      common.status = 'CONTINUE_AND_REPLACE';
      common.bodyMutation = { body };
    }
    response.requestHeaders = { response: common };
    return response;
  }

  /**
   * A filter chose `name` as upstream: Envoy learns its endpoints as `x-gateway-destination-endpoint`
   * (added to `set`) and as `envoy.lb` metadata on `response`. An upstream the config does not
   * name fails as in the gateway (502).
   */
  private pick(name: string, hook: 'on-request-headers' | 'on-request-body', set: HeaderValueOption[], response: ProcessingResponse): void {
    const upstream = this.state.upstreams[name];
    if (!upstream) throw new FilterFailure(502, 'filter_failed', this.passed.at(-1)?.name ?? '?', hook, `a filter chose upstream "${name}", which is not configured`);
    const list = endpointAddresses(upstream).join(',');
    if (!list) return void this.ctx?.logger.warn({ upstream: name }, 'the chosen upstream has no ip:port endpoint to name to Envoy');
    set.push(option(DESTINATION_HEADER, list));
    response.dynamicMetadata = endpointMetadata(list);
  }

  /** A filter's rejection, through the response hooks of the filters before it (as the gateway does). */
  private async rejected(rejection: { status: number; headers: HeaderList; body?: Uint8Array }, passed: readonly ChainFilter[]): Promise<ProcessingResponse> {
    const ctx = this.ctx!;
    const out = await this.pipeline!.responseHeaders(ctx, passed, { status: rejection.status, headers: rejection.headers });
    if (out.rejection) {
      const r = out.rejection.rejection;
      return this.immediate(answer(r.status, r.headers, r.body));
    }
    let head = out.head;
    let body: Buffer = Buffer.from(out.body ?? rejection.body ?? []);
    const chain = this.pipeline!.bodyChain(ctx, passed, 'response');
    if (chain.wanted) {
      try {
        const step = await passChunk(chain, body, true, (ms) => { for (const m of ms) head = { ...head, headers: applyHeaderMutations(head.headers, m) }; });
        body = step.chunks.length === 1 ? step.chunks[0]! : Buffer.concat(step.chunks);
      } catch (err) {
        if (!(err instanceof BodyRejected)) throw err;
        return this.immediate(answer(err.rejection.status, err.rejection.headers, err.rejection.body));
      }
    }
    return this.immediate(answer(head.status, head.headers, body));
  }

  private bodyRejected(err: BodyRejected): Promise<ProcessingResponse> {
    const at = this.passed.findIndex((f) => f.name === err.plugin);
    return this.rejected(err.rejection, at < 0 ? this.passed : this.passed.slice(0, at));
  }

  private async onBody(direction: 'request' | 'response', msg: HttpBody): Promise<ProcessingResponse> {
    const wrap = (common: CommonResponse): ProcessingResponse => direction === 'request' ? { requestBody: { response: common } } : { responseBody: { response: common } };
    const chain = direction === 'request' ? this.requestChain : this.responseChain;
    const first = this.bodyMessages[direction]++ === 0;
    if (!chain?.wanted) return wrap({});
    const chunk = msg.body ?? EMPTY;
    const before = direction === 'request' ? this.requestHead!.headers : this.responseHeaders;
    let after = before;
    let upstream: string | undefined;
    let step;
    try {
      // BUFFERED sends the whole body in one message, its end_of_stream false when trailers
      // follow: it is the end all the same, and a holding filter must see it to let go.
      const eos = msg.endOfStream === true || (first && this.modes[direction] === 'BUFFERED');
      step = await passChunk(chain, chunk, eos, (ms) => {
        for (const m of ms) {
          after = applyHeaderMutations(after, m);
          if (m.upstream !== undefined && direction === 'request') upstream = m.upstream;
        }
      });
    } catch (err) {
      if (!(err instanceof BodyRejected)) throw err;
      if (direction === 'request') return this.bodyRejected(err);
      return this.immediate(answer(err.rejection.status, err.rejection.headers, err.rejection.body));
    }
    const common: CommonResponse = {};
    const response = wrap(common);
    const body = replaced(chunk, step.chunks);
    if (body !== undefined) common.bodyMutation = body.length === 0 ? { clearBody: true } : { body };
    const set: HeaderValueOption[] = [];
    // The endpoint metadata counts whenever it comes; its header only while Envoy holds the headers.
    if (upstream !== undefined && this.phase === 'route') this.pick(upstream, 'on-request-body', set, response);
    // Envoy still holds the headers only while it buffers the whole body for this one message.
    if (first && this.modes[direction] === 'BUFFERED') {
      const mutation = headerDiff(before, after);
      if (mutation || set.length) common.headerMutation = { setHeaders: [...(mutation?.setHeaders ?? []), ...set], removeHeaders: mutation?.removeHeaders ?? [] };
    } else if (after !== before || set.length) this.ctx?.logger.debug(`${direction} header mutations from a body hook after the headers went are ignored`);
    return response;
  }

  /**
   * Trailers pass unchanged (no hook reads them), but they end a body that came without an end of
   * stream: the body filters see its end now. What a filter still held cannot travel on a trailers
   * answer: a rejection is answered, anything else to forward fails the request rather than
   * dropping bytes.
   */
  private async onTrailers(direction: 'request' | 'response'): Promise<ProcessingResponse> {
    const none: ProcessingResponse = direction === 'request' ? { requestTrailers: {} } : { responseTrailers: {} };
    const chain = direction === 'request' ? this.requestChain : this.responseChain;
    if (!chain?.holding) return none;
    let step;
    try {
      step = await passChunk(chain, EMPTY, true, () => {});
    } catch (err) {
      if (!(err instanceof BodyRejected)) throw err;
      if (direction === 'request') return this.bodyRejected(err);
      return this.immediate(answer(err.rejection.status, err.rejection.headers, err.rejection.body));
    }
    if (step.chunks.length === 0) return none;
    this.ctx?.logger.error({ direction, bytes: step.chunks.reduce((n, c) => n + c.length, 0) }, 'a held body ended with trailers: Envoy cannot take its bytes on the trailers answer');
    return this.immediate(errorAnswer(direction === 'request' ? 500 : 502, 'held_body_with_trailers', this.requestId));
  }

  private async onResponseHeaders(msg: HttpHeaders): Promise<ProcessingResponse> {
    const { pseudo, headers } = splitHeaders(msg.headers);
    this.status = Number(pseudo.get(':status') ?? 0);
    const ctx = this.ctx;
    // Envoy skipped the request headers (its own mode): no chain was chosen, nothing to run.
    if (!ctx) return { responseHeaders: {} };
    const out = await this.pipeline!.responseHeaders(ctx, this.passed, { status: this.status, headers });
    if (out.rejection) {
      const r = out.rejection.rejection;
      return this.immediate(answer(r.status, r.headers, r.body));
    }
    this.responseHeaders = out.head.headers;
    this.responseChain = this.pipeline!.bodyChain(ctx, this.passed, 'response');
    let body: Buffer | undefined = out.body === undefined ? undefined : Buffer.from(out.body);
    if ((body !== undefined || msg.endOfStream) && this.responseChain.wanted) {
      // The whole body is known now: a replaced one, or none at all.
      const input = body ?? EMPTY;
      try {
        const step = await passChunk(this.responseChain, input, true, (ms) => { for (const m of ms) this.responseHeaders = applyHeaderMutations(this.responseHeaders, m); });
        body = replaced(input, step.chunks) ?? body;
      } catch (err) {
        if (!(err instanceof BodyRejected)) throw err;
        return this.immediate(answer(err.rejection.status, err.rejection.headers, err.rejection.body));
      }
    }
    const common: CommonResponse = {};
    const mutation = headerDiff(headers, this.responseHeaders);
    if (mutation) common.headerMutation = mutation;
    if (body !== undefined) {
      common.status = 'CONTINUE_AND_REPLACE';
      common.bodyMutation = { body };
      this.responseChain = undefined;
    }
    return { responseHeaders: { response: common } };
  }
}
