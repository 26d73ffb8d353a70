// request-headers: sets/removes request headers, stamps the request id, adds server-timing.
import {
  Filter, registerFilter, Action, Mutations, FilterInfo, ConfigResult, RequestInfo, RequestHead, ResponseHead, Json, JsonValue,
} from "../../../sdk-assemblyscript/assembly";

class RequestHeaders extends Filter {
  set: JsonValue = new JsonValue();
  remove: string[] = [];
  requestId: string | null = null;
  serverTiming: bool = false;

  configure(config: string): ConfigResult {
    const c = Json.parse(config);
    if (c === null || !c.isObject()) return ConfigResult.err("request-headers: config is not a JSON object");
    const set = c.get("set");
    if (set !== null && !set.isObject()) return ConfigResult.err("request-headers: `set` must be an object of name -> value");
    if (set !== null) this.set = set;
    this.remove = c.getStringArray("remove");
    this.requestId = c.getString("requestId");
    this.serverTiming = c.getBool("serverTiming", false);
    // The response hook only adds server-timing: without it the host need not call it at all.
    const info = new FilterInfo("request-headers");
    return ConfigResult.ok(this.serverTiming ? info : info.withoutResponseHeaders());
  }

  onRequestHeaders(info: RequestInfo, head: RequestHead): Action {
    const m = new Mutations();
    for (let i = 0; i < this.set.keys.length; i++) {
      const v = this.set.items[i];
      if (v.isString()) m.setHeader(this.set.keys[i], v.str);
    }
    for (let i = 0; i < this.remove.length; i++) m.removeHeader(this.remove[i]);
    if (this.requestId !== null) m.setHeader(this.requestId!, info.requestId);
    return Action.continueWith(m);
  }

  onResponseHeaders(info: RequestInfo, head: ResponseHead): Action {
    if (!this.serverTiming) return Action.continue();
    // Appends a line: `set` would replace the server-timing lines of other filters.
    const existing = head.headers.get("server-timing");
    const line = "praxis;desc=\"request-headers\"";
    return Action.continueWith(new Mutations().setHeader("server-timing", existing !== null && existing.length ? existing + ", " + line : line));
  }
}

registerFilter(() => new RequestHeaders() as Filter);
