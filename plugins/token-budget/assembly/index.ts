// token-budget: charges the tokens an LLM response reports in `usage` (a JSON body, or the last
// SSE event carrying one) to the request's key, and answers 429 once the key's budget for the
// window is spent. The response streams on untouched: the filter keeps only its tail.
import {
  Filter, registerFilter, Action, Mutations, BodyMode, FilterInfo, ConfigResult, RequestInfo, RequestHead, ResponseHead,
  Headers, Json, clock, context, keyvalue, log, bufferBody, bytesToString, KV_UNAVAILABLE,
} from "../../../sdk-assemblyscript/assembly";
import { FROM_API_KEY, FROM_BODY, FROM_HEADER, apiKey, bodyField, fnv1a64 } from "./key";
import { lastUsage } from "./usage";

// context, per request: the counter to charge, the RateLimit header for the response, the tail kept.
const COUNTER = "token-budget.counter";
const HEADER = "token-budget.header";
const TAIL = "token-budget.tail";

class TokenBudget extends Filter {
  budget: i64 = 0;
  windowMs: i64 = 3600000;
  keyFrom: u8 = FROM_API_KEY;
  keyName: string = "";
  missingShared: bool = true;
  failOpen: bool = true;
  store: string = "";
  count: string = "total";
  policy: string = "tokens";
  tailBytes: i32 = 16384;

  configure(config: string): ConfigResult {
    const c = Json.parse(config);
    if (c === null || !c.isObject()) return ConfigResult.err("token-budget: config is not a JSON object");
    this.budget = <i64>c.getNumber("budget", 0);
    if (this.budget < 1) return ConfigResult.err("token-budget: `budget` must be a positive integer");
    this.windowMs = <i64>(c.getNumber("windowSeconds", 3600) * 1000);
    if (this.windowMs < 1000) return ConfigResult.err("token-budget: `windowSeconds` must be at least 1");
    const from = c.getString("keyFrom", "apiKey")!;
    this.keyFrom = from == "apiKey" ? FROM_API_KEY : from == "header" ? FROM_HEADER : from == "body" ? FROM_BODY : <u8>255;
    if (this.keyFrom == 255) return ConfigResult.err("token-budget: `keyFrom` must be apiKey, header or body");
    this.keyName = c.getString("keyName", "")!;
    if (this.keyFrom != FROM_API_KEY && this.keyName.length == 0) return ConfigResult.err("token-budget: `keyName` is required with keyFrom " + from);
    this.missingShared = c.getString("missingKey", "shared")! == "shared";
    this.failOpen = c.getString("failureMode", "open")! == "open";
    this.store = c.getString("store", "")!;
    this.count = c.getString("count", "total")!;
    this.policy = c.getString("policyName", "tokens")!;
    this.tailBytes = <i32>c.getNumber("tailBytes", 16384);
    const request = this.keyFrom == FROM_BODY ? BodyMode.streamBuffer(<u32>c.getNumber("maxBytes", 1048576)) : BodyMode.none();
    const info = new FilterInfo("token-budget", request, BodyMode.stream());
    // A key from the body is read there: the request-headers hook would have nothing to do.
    return ConfigResult.ok(this.keyFrom == FROM_BODY ? info.withoutRequestHeaders() : info);
  }

  policyHeader(): string {
    return Json.quote(this.policy) + ";q=" + this.budget.toString() + ";w=" + (this.windowMs / 1000).toString();
  }

  /** Whether the key may spend more in this window; remembers what to charge when it may. */
  check(raw: string | null): Action {
    if (raw === null) {
      if (!this.missingShared) return this.pass();
      raw = "-"; // requests without a key share one budget
    }
    // The host's wall clock: every gateway sharing the store counts in the same windows.
    const now = <i64>clock.nowMs();
    const idx = now / this.windowMs;
    // API keys are secrets: only their hash reaches the store.
    const id = this.keyFrom == FROM_API_KEY || raw.length > 96 ? "#" + fnv1a64(raw) : raw;
    const counter = (this.windowMs / 1000).toString() + ":" + id + ":" + idx.toString();
    const g = keyvalue.getString(this.store, counter);
    if (!g.ok) return this.failed(g.error!.toString(), g.error!.tag == KV_UNAVAILABLE);
    const spent = g.value === null ? 0 : I64.parseInt(g.value!);
    const reset = ((idx + 1) * this.windowMs - now + 999) / 1000;
    if (spent >= this.budget) {
      const h = new Headers()
        .set("content-type", "application/json")
        .set("retry-after", reset.toString())
        .set("ratelimit-policy", this.policyHeader())
        .set("ratelimit", Json.quote(this.policy) + ";r=0;t=" + reset.toString());
      const body = "{\"error\":{\"type\":\"token_budget_exhausted\",\"reason\":\"the token budget for this window is spent\",\"retryAfter\":" + reset.toString() + "}}";
      return Action.rejectString(429, h, body);
    }
    context.setString(COUNTER, counter);
    context.setString(HEADER, Json.quote(this.policy) + ";r=" + (this.budget - spent).toString() + ";t=" + reset.toString());
    return this.pass();
  }

  /**
   * On to the upstream, asking for an uncompressed answer: the usage must be readable in the
   * tail, or a client could spend without being charged by asking for gzip.
   */
  pass(): Action {
    return Action.continueWith(new Mutations().removeHeader("accept-encoding"));
  }

  failed(why: string, unavailable: bool): Action {
    if (this.failOpen) {
      log.warn("token-budget: store failed (" + why + "); failureMode open, continuing");
      return this.pass();
    }
    log.warn("token-budget: store failed (" + why + "); failureMode closed, answering 503");
    const body = "{\"error\":{\"type\":\"token_budget_unavailable\",\"reason\":\"budget store " + (unavailable ? "unavailable" : "error") + "\"}}";
    return Action.rejectString(503, new Headers().set("content-type", "application/json"), body);
  }

  onRequestHeaders(info: RequestInfo, head: RequestHead): Action {
    if (info.attempt > 1) return Action.continue();
    return this.check(this.keyFrom == FROM_API_KEY ? apiKey(head.headers) : head.headers.get(this.keyName));
  }

  onRequestBody(info: RequestInfo, chunk: Uint8Array, endOfStream: bool): Action {
    if (info.attempt > 1) return Action.bodyDone();
    const body = bufferBody(info, "request", chunk, endOfStream);
    if (body === null) return Action.continue();
    return this.check(bodyField(bytesToString(body), this.keyName));
  }

  onResponseHeaders(info: RequestInfo, head: ResponseHead): Action {
    const value = context.getString(HEADER);
    if (value === null) return Action.continue();
    if (head.status < 200 || head.status > 299) context.setString(COUNTER, ""); // nothing to charge
    return Action.continueWith(new Mutations().setHeader("ratelimit-policy", this.policyHeader()).setHeader("ratelimit", value));
  }

  onResponseBody(info: RequestInfo, chunk: Uint8Array, endOfStream: bool): Action {
    const counter = context.getString(COUNTER);
    if (counter === null || counter.length == 0) return Action.bodyDone();
    // Keep the last tailBytes only: the chunk itself goes on as soon as this hook returns.
    const held = context.get(TAIL);
    let tail = chunk;
    if (held !== null && held.length > 0) {
      const keep = min(held.length, max(0, this.tailBytes - chunk.length));
      tail = new Uint8Array(keep + chunk.length);
      tail.set(held.subarray(held.length - keep), 0);
      tail.set(chunk, keep);
    }
    if (tail.length > this.tailBytes) tail = tail.slice(tail.length - this.tailBytes);
    if (!endOfStream) {
      context.set(TAIL, tail);
      return Action.continue();
    }
    // A cut through a multi-byte character at the tail's start only spoils text before the usage.
    const tokens = lastUsage(String.UTF8.decodeUnsafe(tail.dataStart, <usize>tail.length), this.count);
    if (tokens < 0) {
      log.debug("token-budget: no usage in the response; nothing charged");
      return Action.continue();
    }
    const r = keyvalue.increment(this.store, counter, tokens, <u32>(2 * this.windowMs));
    if (!r.ok) log.warn("token-budget: charging " + tokens.toString() + " tokens failed (" + r.error!.toString() + ")");
    return Action.continue();
  }
}

registerFilter(() => new TokenBudget() as Filter);
