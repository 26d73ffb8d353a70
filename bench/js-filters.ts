/**
 * The gateway benchmark's 3 filters as plain JS: the same behaviours as plugins header-router,
 * request-headers and deny-list, behind the same ComponentFactory / FilterInstance interface, so
 * that the pipeline, pool and gateway around them are exactly those the wasm filters run in.
 * Each `info()` declares the same header hooks as its wasm plugin, so the pipeline skips the same calls.
 */
import type {
  Action, ComponentFactory, ConfigureResult, FilterInfo, FilterInstance, HostCalls, RequestHead, RequestInfo, ResponseHead,
} from '../runtime/component/types.ts';

const CONTINUE: Action = { tag: 'continue' };
const NONE = { tag: 'none' } as const;

abstract class JsFilter implements FilterInstance {
  protected abstract info(config: Record<string, unknown>): FilterInfo;
  async configure(_host: HostCalls, config: string): Promise<ConfigureResult> {
    return { ok: true, value: this.info(JSON.parse(config) as Record<string, unknown>) };
  }
  async onRequestHeaders(_h: HostCalls, _i: RequestInfo, _head: RequestHead): Promise<Action> { return CONTINUE; }
  async onRequestBody(_h: HostCalls, _i: RequestInfo, _c: Uint8Array, _e: boolean): Promise<Action> { return CONTINUE; }
  async onResponseHeaders(_h: HostCalls, _i: RequestInfo, _head: ResponseHead): Promise<Action> { return CONTINUE; }
  async onResponseBody(_h: HostCalls, _i: RequestInfo, _c: Uint8Array, _e: boolean): Promise<Action> { return CONTINUE; }
  memoryBytes(): number { return 0; }
}

class HeaderRouter extends JsFilter {
  private header = 'x-model';
  private routes: Record<string, string> = {};
  private fallback: string | undefined;
  protected info(c: Record<string, unknown>): FilterInfo {
    if (typeof c.header === 'string') this.header = c.header;
    this.routes = (c.routes ?? {}) as Record<string, string>;
    if (typeof c.default === 'string') this.fallback = c.default;
    return { name: 'header-router', requestBody: NONE, responseBody: NONE, headerHooks: { requestHeaders: true, responseHeaders: false } };
  }
  override async onRequestHeaders(_h: HostCalls, _i: RequestInfo, head: RequestHead): Promise<Action> {
    let model: string | undefined;
    for (const [n, v] of head.headers) if (n === this.header) { model = v; break; }
    if (model === undefined) return CONTINUE;
    const upstream = Object.hasOwn(this.routes, model) ? this.routes[model] : this.fallback;
    if (upstream === undefined) return CONTINUE;
    return { tag: 'continue', mutations: { setHeaders: [['x-praxis-route-model', model]], removeHeaders: [], upstream } };
  }
}

class RequestHeaders extends JsFilter {
  private set: Array<[string, string]> = [];
  private remove: string[] = [];
  private requestId: string | undefined;
  private serverTiming = false;
  protected info(c: Record<string, unknown>): FilterInfo {
    this.set = Object.entries((c.set ?? {}) as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string');
    this.remove = (c.remove ?? []) as string[];
    if (typeof c.requestId === 'string') this.requestId = c.requestId;
    this.serverTiming = c.serverTiming === true;
    return { name: 'request-headers', requestBody: NONE, responseBody: NONE, headerHooks: { requestHeaders: true, responseHeaders: this.serverTiming } };
  }
  override async onRequestHeaders(_h: HostCalls, info: RequestInfo): Promise<Action> {
    const setHeaders: Array<[string, string]> = [...this.set];
    if (this.requestId) setHeaders.push([this.requestId, info.requestId]);
    return { tag: 'continue', mutations: { setHeaders, removeHeaders: this.remove } };
  }
  override async onResponseHeaders(_h: HostCalls, _i: RequestInfo, head: ResponseHead): Promise<Action> {
    if (!this.serverTiming) return CONTINUE;
    const mark = 'praxis;desc="request-headers"';
    let existing: string | undefined;
    for (const [n, v] of head.headers) if (n === 'server-timing') existing = v;
    return { tag: 'continue', mutations: { setHeaders: [['server-timing', existing ? `${existing}, ${mark}` : mark]], removeHeaders: [] } };
  }
}

class DenyList extends JsFilter {
  private patterns: string[] = [];
  private caseInsensitive = true;
  private maxBytes = 65536;
  protected info(c: Record<string, unknown>): FilterInfo {
    this.caseInsensitive = c.caseInsensitive !== false;
    this.patterns = ((c.patterns ?? []) as string[]).filter((p) => p !== '').map((p) => (this.caseInsensitive ? p.toLowerCase() : p));
    if (typeof c.maxBytes === 'number') this.maxBytes = c.maxBytes;
    return {
      name: 'deny-list', requestBody: { tag: 'stream-buffer', maxBytes: this.maxBytes }, responseBody: NONE,
      headerHooks: { requestHeaders: false, responseHeaders: false },
    };
  }
  override async onRequestBody(host: HostCalls, info: RequestInfo, chunk: Uint8Array, eos: boolean): Promise<Action> {
    // Earlier chunks live in the request's context store, as the SDK keeps them.
    const key = `praxis.body.request.${info.attempt}`;
    const held = host.contextGet(key);
    const all = held && held.length ? Buffer.concat([held, chunk]) : chunk;
    if (!eos) {
      host.contextSet(key, all);
      return CONTINUE;
    }
    if (held) host.contextSet(key, new Uint8Array(0));
    let text = Buffer.from(all.buffer, all.byteOffset, all.byteLength).toString('utf8');
    if (this.caseInsensitive) text = text.toLowerCase();
    for (const p of this.patterns) {
      if (text.includes(p)) {
        return {
          tag: 'reject',
          rejection: { status: 403, headers: [['content-type', 'application/json']], body: new TextEncoder().encode(JSON.stringify({ error: { type: 'denied', pattern: p } })) },
        };
      }
    }
    return { tag: 'release' };
  }
}

export function jsFactory(kind: 'header-router' | 'request-headers' | 'deny-list'): ComponentFactory {
  return {
    binding: 'fast',
    async instantiate(): Promise<FilterInstance> {
      return kind === 'header-router' ? new HeaderRouter() : kind === 'request-headers' ? new RequestHeaders() : new DenyList();
    },
  };
}
