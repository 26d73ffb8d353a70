// Typed views of the praxis:filter@0.2.0 records (wit/praxis.wit), as plugins see them.

/** One header line. Names arrive lower-case from the host. */
export class Header {
  constructor(public name: string, public value: string) {}
}

/** ASCII case-insensitive equality without allocating (header names are ASCII tokens). */
export function sameName(a: string, b: string): bool {
  const n = a.length;
  if (n != b.length) return false;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x == y) continue;
    if (x >= 65 && x <= 90) x += 32;
    if (y >= 65 && y <= 90) y += 32;
    if (x != y) return false;
  }
  return true;
}

/** Ordered header list with case-insensitive helpers. */
export class Headers {
  entries: Header[] = [];

  /** First value of `name`, or null. */
  get(name: string): string | null {
    for (let i = 0; i < this.entries.length; i++) {
      if (sameName(this.entries[i].name, name)) return this.entries[i].value;
    }
    return null;
  }
  has(name: string): bool {
    return this.get(name) !== null;
  }
  /** Replaces every line of `name` with one line. */
  set(name: string, value: string): Headers {
    this.remove(name);
    this.entries.push(new Header(name, value));
    return this;
  }
  /** Appends a line, keeping existing ones. */
  add(name: string, value: string): Headers {
    this.entries.push(new Header(name, value));
    return this;
  }
  remove(name: string): Headers {
    let found = false;
    for (let i = 0; i < this.entries.length && !found; i++) found = sameName(this.entries[i].name, name);
    if (!found) return this; // the common case: nothing to copy
    const kept: Header[] = [];
    for (let i = 0; i < this.entries.length; i++) {
      if (!sameName(this.entries[i].name, name)) kept.push(this.entries[i]);
    }
    this.entries = kept;
    return this;
  }
  get length(): i32 {
    return this.entries.length;
  }
}

/** Identity of the request a hook runs for; `attempt` is 1, then rises on retries. */
export class RequestInfo {
  constructor(public requestId: string, public attempt: u32, public route: string) {}
}

export class RequestHead {
  constructor(public method: string, public path: string, public authority: string, public headers: Headers) {}
}

export class ResponseHead {
  constructor(public status: u16, public headers: Headers) {}
}

/** What a `continue` changes: headers (of the hook's direction), body, upstream. */
export class Mutations {
  setHeaders: Headers = new Headers();
  removeHeaders: string[] = [];
  body: Uint8Array | null = null;
  upstream: string | null = null;

  setHeader(name: string, value: string): Mutations {
    this.setHeaders.set(name, value);
    return this;
  }
  removeHeader(name: string): Mutations {
    this.removeHeaders.push(name);
    return this;
  }
  setBody(body: Uint8Array): Mutations {
    this.body = body;
    return this;
  }
  setBodyString(body: string): Mutations {
    this.body = Uint8Array.wrap(String.UTF8.encode(body, false, String.UTF8.ErrorMode.REPLACE));
    return this;
  }
  setUpstream(name: string): Mutations {
    this.upstream = name;
    return this;
  }
}

// Action tags, in WIT order (they are the canonical ABI discriminants).
export const ACTION_CONTINUE: u8 = 0;
export const ACTION_REJECT: u8 = 1;
export const ACTION_RELEASE: u8 = 2;
export const ACTION_BODY_DONE: u8 = 3;

/** A hook's decision. Build it with the static constructors. */
export class Action {
  tag: u8 = ACTION_CONTINUE;
  mutations: Mutations | null = null;
  status: u16 = 0;
  headers: Headers | null = null;
  body: Uint8Array | null = null;

  static continue(): Action {
    return new Action();
  }
  static continueWith(mutations: Mutations): Action {
    const a = new Action();
    a.mutations = mutations;
    return a;
  }
  /** Short-circuit answer; later filters and the upstream are skipped. */
  static reject(status: u16, headers: Headers | null = null, body: Uint8Array | null = null): Action {
    const a = new Action();
    a.tag = ACTION_REJECT;
    a.status = status;
    a.headers = headers;
    a.body = body;
    return a;
  }
  static rejectString(status: u16, headers: Headers | null, body: string): Action {
    return Action.reject(status, headers, Uint8Array.wrap(String.UTF8.encode(body, false, String.UTF8.ErrorMode.REPLACE)));
  }
  /** Forward the body accumulated so far (stream-buffer mode). */
  static release(): Action {
    const a = new Action();
    a.tag = ACTION_RELEASE;
    return a;
  }
  /** This filter needs no more body chunks. */
  static bodyDone(): Action {
    const a = new Action();
    a.tag = ACTION_BODY_DONE;
    return a;
  }
}

export const BODY_NONE: u8 = 0;
export const BODY_STREAM: u8 = 1;
export const BODY_STREAM_BUFFER: u8 = 2;

/** Which body chunks a filter wants, per direction. */
export class BodyMode {
  constructor(public tag: u8, public maxBytes: u32) {}
  static none(): BodyMode {
    return new BodyMode(BODY_NONE, 0);
  }
  static stream(): BodyMode {
    return new BodyMode(BODY_STREAM, 0);
  }
  /** Hold chunks until release or end of stream; the host answers 413 past maxBytes. */
  static streamBuffer(maxBytes: u32): BodyMode {
    return new BodyMode(BODY_STREAM_BUFFER, maxBytes);
  }
}

/**
 * Which header hooks the filter implements (WIT `flags header-hooks`). The host never calls an
 * undeclared one: without `requestHeaders` the filter still counts as passed (its response hooks
 * run); without `responseHeaders` it is skipped on the response path. Both are on by default.
 */
export class HeaderHooks {
  constructor(public requestHeaders: bool = true, public responseHeaders: bool = true) {}
  static both(): HeaderHooks {
    return new HeaderHooks(true, true);
  }
  static none(): HeaderHooks {
    return new HeaderHooks(false, false);
  }
  /** The flags byte: bit 0 request-headers, bit 1 response-headers. */
  bits(): u8 {
    return (this.requestHeaders ? <u8>1 : <u8>0) | (this.responseHeaders ? <u8>2 : <u8>0);
  }
}

export class FilterInfo {
  /** Header hooks the host calls; both by default (see `withoutRequestHeaders` / `withoutResponseHeaders`). */
  public headerHooks: HeaderHooks = HeaderHooks.both();
  constructor(
    public name: string,
    public requestBody: BodyMode = BodyMode.none(),
    public responseBody: BodyMode = BodyMode.none(),
  ) {}
  /** The host never calls `onRequestHeaders` (the filter still counts as passed). */
  withoutRequestHeaders(): FilterInfo {
    this.headerHooks.requestHeaders = false;
    return this;
  }
  /** The host never calls `onResponseHeaders`. */
  withoutResponseHeaders(): FilterInfo {
    this.headerHooks.responseHeaders = false;
    return this;
  }
  withHeaderHooks(hooks: HeaderHooks): FilterInfo {
    this.headerHooks = hooks;
    return this;
  }
}

/** `configure`'s answer: the filter's info, or an error that refuses the config. */
export class ConfigResult {
  info: FilterInfo | null = null;
  error: string | null = null;
  static ok(info: FilterInfo): ConfigResult {
    const r = new ConfigResult();
    r.info = info;
    return r;
  }
  static err(message: string): ConfigResult {
    const r = new ConfigResult();
    r.error = message;
    return r;
  }
}
