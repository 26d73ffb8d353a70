// Outbound HTTP through the host (the http-client import): bounded, logged, cancellable by it.
import { Headers } from "./types";
import { liftBytes, liftHeaders, liftString, allocZeroed, storeString, storeHeaders, storeOptionBytes } from "./abi";

// @ts-ignore: decorator
@external("praxis:filter/http-client@0.2.0", "http-subrequest")
declare function _httpSubrequest(
  methodPtr: usize, methodLen: usize, urlPtr: usize, urlLen: usize, headersPtr: usize, headersLen: usize,
  bodyIsSome: u32, bodyPtr: usize, bodyLen: usize, timeoutIsSome: u32, timeoutMs: u32, retPtr: usize,
): void;
// @ts-ignore: decorator
@external("praxis:filter/http-client@0.2.0", "http-subrequest-all")
declare function _httpSubrequestAll(listPtr: usize, listLen: usize, retPtr: usize): void;

export class Subrequest {
  headers: Headers = new Headers();
  body: Uint8Array | null = null;
  /** 0: the host's default for this plugin. */
  timeoutMs: u32 = 0;
  constructor(public method: string, public url: string) {}

  static get(url: string): Subrequest {
    return new Subrequest("GET", url);
  }
  static post(url: string, body: Uint8Array): Subrequest {
    const r = new Subrequest("POST", url);
    r.body = body;
    return r;
  }
  static put(url: string, body: Uint8Array): Subrequest {
    const r = new Subrequest("PUT", url);
    r.body = body;
    return r;
  }
  header(name: string, value: string): Subrequest {
    this.headers.set(name, value);
    return this;
  }
  timeout(ms: u32): Subrequest {
    this.timeoutMs = ms;
    return this;
  }
}

export class Subresponse {
  constructor(public status: u16, public headers: Headers, public body: Uint8Array) {}
  text(): string {
    return String.UTF8.decode(this.body.buffer);
  }
}

// subrequest-error tags, in WIT order.
export const ERR_TIMEOUT: u8 = 0;
export const ERR_TOO_LARGE: u8 = 1;
export const ERR_DENIED: u8 = 2;
export const ERR_OVERLOADED: u8 = 3;
export const ERR_CANCELLED: u8 = 4;
export const ERR_CONNECT: u8 = 5;
export const ERR_PROTOCOL: u8 = 6;

const ERROR_NAMES: string[] = ["timeout", "too-large", "denied", "overloaded", "cancelled", "connect", "protocol"];

export class SubrequestError {
  /** `reason` is set for denied, connect and protocol; "" otherwise. */
  constructor(public tag: u8, public reason: string) {}
  /** The WIT case name, e.g. "too-large". */
  get name(): string {
    return this.tag < <u8>ERROR_NAMES.length ? ERROR_NAMES[this.tag] : "unknown";
  }
  hasReason(): bool {
    return this.tag == ERR_DENIED || this.tag == ERR_CONNECT || this.tag == ERR_PROTOCOL;
  }
  toString(): string {
    return this.hasReason() ? this.name + ": " + this.reason : this.name;
  }
}

export class SubrequestResult {
  response: Subresponse | null = null;
  error: SubrequestError | null = null;
  get ok(): bool {
    return this.response !== null;
  }
}

/** result<subresponse, subrequest-error> (24 bytes), written by the host at `p`. */
function liftResult(p: usize): SubrequestResult {
  const r = new SubrequestResult();
  if (load<u8>(p) == 0) {
    r.response = new Subresponse(load<u16>(p, 4), liftHeaders(load<u32>(p, 8), load<u32>(p, 12)), liftBytes(load<u32>(p, 16), load<u32>(p, 20)));
  } else {
    const tag = load<u8>(p, 4);
    const hasReason = tag == ERR_DENIED || tag == ERR_CONNECT || tag == ERR_PROTOCOL;
    r.error = new SubrequestError(tag, hasReason ? liftString(load<u32>(p, 8), load<u32>(p, 12)) : "");
  }
  return r;
}

/** Lowers a subrequest into its 44-byte list-element layout at `at` (zeroed). */
function lowerSubrequest(at: usize, req: Subrequest): void {
  storeString(at, req.method);
  storeString(at + 8, req.url);
  storeHeaders(at + 16, req.headers);
  storeOptionBytes(at + 24, req.body);
  if (req.timeoutMs > 0) {
    store<u8>(at + 36, 1);
    store<u32>(at + 40, req.timeoutMs);
  }
}

/** One sub-request; blocks this hook until the host answers (suspends the guest under JSPI). */
export function httpSubrequest(req: Subrequest): SubrequestResult {
  const a = allocZeroed(44);
  lowerSubrequest(a, req);
  const ret = allocZeroed(24);
  _httpSubrequest(
    load<u32>(a), load<u32>(a, 4), load<u32>(a, 8), load<u32>(a, 12), load<u32>(a, 16), load<u32>(a, 20),
    load<u8>(a, 24), load<u32>(a, 28), load<u32>(a, 32), load<u8>(a, 36), load<u32>(a, 40), ret,
  );
  return liftResult(ret);
}

/** Runs all requests concurrently under the host's bounds; results come back in order. */
export function httpSubrequestAll(reqs: Subrequest[]): SubrequestResult[] {
  const n = reqs.length;
  const list = allocZeroed(<usize>n * 44);
  for (let i = 0; i < n; i++) lowerSubrequest(list + <usize>i * 44, reqs[i]);
  const ret = allocZeroed(8);
  _httpSubrequestAll(list, <usize>n, ret);
  const out = new Array<SubrequestResult>();
  const p = <usize>load<u32>(ret);
  const len = <i32>load<u32>(ret, 4);
  for (let i = 0; i < len; i++) out.push(liftResult(p + <usize>i * 24));
  return out;
}

