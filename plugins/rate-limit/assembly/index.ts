// rate-limit: fixed window, sliding window or token bucket per key (client address, a header, or a
// JSON body field) over the key-value store; over the limit, 429 with Retry-After and the IETF
// httpapi draft's RateLimit-Policy / RateLimit headers.
import {
  Filter, registerFilter, Action, Mutations, BodyMode, FilterInfo, ConfigResult, RequestInfo, RequestHead, ResponseHead,
  Headers, Json, clock, context, log, bufferBody, bytesToString, KV_UNAVAILABLE,
} from "../../../sdk-assemblyscript/assembly";
import { Decision, Limiter } from "./algorithms";
import { FROM_BODY, FROM_CLIENT, FROM_HEADER, bodyField, clientAddress, storeKey } from "./key";

/** context: the RateLimit header value, for the response of an allowed request. */
const HEADER = "rate-limit.header";

const ALGORITHMS: string[] = ["fixed", "sliding", "token-bucket"];

class RateLimit extends Filter {
  limiter: Limiter = new Limiter("", 1, 1000);
  algorithm: i32 = 1;
  keyFrom: u8 = FROM_CLIENT;
  keyName: string = "";
  trustedProxies: i32 = 0;
  missingShared: bool = true;
  failOpen: bool = true;
  policy: string = "default";

  configure(config: string): ConfigResult {
    const c = Json.parse(config);
    if (c === null || !c.isObject()) return ConfigResult.err("rate-limit: config is not a JSON object");
    const limit = <i64>c.getNumber("limit", 0);
    if (limit < 1) return ConfigResult.err("rate-limit: `limit` must be a positive integer");
    const windowMs = <i64>(c.getNumber("windowSeconds", 60) * 1000);
    if (windowMs < 1000) return ConfigResult.err("rate-limit: `windowSeconds` must be at least 1");
    this.limiter = new Limiter(c.getString("store", "")!, limit, windowMs);
    this.algorithm = ALGORITHMS.indexOf(c.getString("algorithm", "sliding")!);
    if (this.algorithm < 0) return ConfigResult.err("rate-limit: `algorithm` must be fixed, sliding or token-bucket");
    const from = c.getString("keyFrom", "client")!;
    this.keyFrom = from == "client" ? FROM_CLIENT : from == "header" ? FROM_HEADER : from == "body" ? FROM_BODY : <u8>255;
    if (this.keyFrom == 255) return ConfigResult.err("rate-limit: `keyFrom` must be client, header or body");
    this.keyName = c.getString("keyName", "")!;
    if (this.keyFrom != FROM_CLIENT && this.keyName.length == 0) return ConfigResult.err("rate-limit: `keyName` is required with keyFrom " + from);
    this.trustedProxies = <i32>c.getNumber("trustedProxies", 0);
    this.missingShared = c.getString("missingKey", "shared")! == "shared";
    this.failOpen = c.getString("failureMode", "open")! == "open";
    this.policy = c.getString("policyName", "default")!;
    const body = this.keyFrom == FROM_BODY ? BodyMode.streamBuffer(<u32>c.getNumber("maxBytes", 1048576)) : BodyMode.none();
    const info = new FilterInfo("rate-limit", body, BodyMode.none());
    // A key from the body is read there: the request-headers hook would have nothing to do.
    return ConfigResult.ok(this.keyFrom == FROM_BODY ? info.withoutRequestHeaders() : info);
  }

  /** `RateLimit-Policy`: the quota and window (draft-ietf-httpapi-ratelimit-headers). */
  policyHeader(): string {
    return Json.quote(this.policy) + ";q=" + this.limiter.limit.toString() + ";w=" + (this.limiter.windowMs / 1000).toString();
  }
  rateLimitHeader(d: Decision): string {
    return Json.quote(this.policy) + ";r=" + d.remaining.toString() + ";t=" + d.resetSeconds.toString();
  }

  decide(raw: string | null): Action {
    if (raw === null) {
      if (!this.missingShared) return Action.continue();
      raw = "-"; // requests without a key share one limit
    }
    // The host's wall clock: every gateway sharing the store counts in the same windows.
    const now = <i64>clock.nowMs();
    const key = ALGORITHMS[this.algorithm] + ":" + (this.limiter.windowMs / 1000).toString() + ":" + storeKey(raw);
    this.limiter.failure = null;
    const d = this.algorithm == 0 ? this.limiter.fixed(key, now) : this.algorithm == 1 ? this.limiter.sliding(key, now) : this.limiter.bucket(key, now);
    if (d === null) return this.failed(this.limiter.failure!.toString(), this.limiter.failure!.tag == KV_UNAVAILABLE);
    if (d.allowed) {
      context.setString(HEADER, this.rateLimitHeader(d));
      return Action.continue();
    }
    const h = new Headers()
      .set("content-type", "application/json")
      .set("retry-after", d.resetSeconds.toString())
      .set("ratelimit-policy", this.policyHeader())
      .set("ratelimit", this.rateLimitHeader(d));
    const body = "{\"error\":{\"type\":\"rate_limited\",\"reason\":\"too many requests\",\"retryAfter\":" + d.resetSeconds.toString() + "}}";
    return Action.rejectString(429, h, body);
  }

  /** The store could not be asked: let the request through (open) or answer 503 (closed). */
  failed(why: string, unavailable: bool = true): Action {
    if (this.failOpen) {
      log.warn("rate-limit: store failed (" + why + "); failureMode open, continuing");
      return Action.continue();
    }
    log.warn("rate-limit: store failed (" + why + "); failureMode closed, answering 503");
    const type = unavailable ? "unavailable" : "error";
    const body = "{\"error\":{\"type\":\"rate_limit_unavailable\",\"reason\":\"limit store " + type + "\"}}";
    return Action.rejectString(503, new Headers().set("content-type", "application/json"), body);
  }

  onRequestHeaders(info: RequestInfo, head: RequestHead): Action {
    // A retried attempt is the same client request: it was counted once already.
    if (info.attempt > 1) return Action.continue();
    return this.decide(this.keyFrom == FROM_CLIENT ? clientAddress(head.headers, this.trustedProxies) : head.headers.get(this.keyName));
  }

  onRequestBody(info: RequestInfo, chunk: Uint8Array, endOfStream: bool): Action {
    if (info.attempt > 1) return Action.bodyDone();
    const body = bufferBody(info, "request", chunk, endOfStream);
    if (body === null) return Action.continue();
    return this.decide(bodyField(bytesToString(body), this.keyName));
  }

  onResponseHeaders(info: RequestInfo, head: ResponseHead): Action {
    const value = context.getString(HEADER);
    if (value === null) return Action.continue();
    return Action.continueWith(new Mutations().setHeader("ratelimit-policy", this.policyHeader()).setHeader("ratelimit", value!));
  }
}

registerFilter(() => new RateLimit() as Filter);
