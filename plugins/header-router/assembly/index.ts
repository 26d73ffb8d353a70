// header-router: picks the upstream from a header, or from a field of the JSON request body.
import {
  Filter, registerFilter, Action, Mutations, BodyMode, FilterInfo, ConfigResult, RequestInfo, RequestHead,
  Json, JsonValue, context, log, bufferBody, bytesToString,
} from "../../../sdk-assemblyscript/assembly";

const DECIDED = "header-router.decided"; // context flag: the header already decided

/** True when `s` can travel as an HTTP header value (tab, visible ASCII, space, obs-text U+0080-U+00FF). */
function isHeaderText(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c != 9 && (c < 0x20 || c == 0x7f || c > 0xff)) return false;
  }
  return true;
}

class HeaderRouter extends Filter {
  header: string = "x-model";
  routes: JsonValue = new JsonValue();
  fallback: string | null = null;
  bodyField: string | null = null;
  maxBytes: u32 = 1 << 20;

  configure(config: string): ConfigResult {
    const c = Json.parse(config);
    if (c === null || !c.isObject()) return ConfigResult.err("header-router: config is not a JSON object");
    this.header = c.getString("header", "x-model")!;
    const routes = c.get("routes");
    if (routes === null || !routes.isObject()) return ConfigResult.err("header-router: `routes` must be an object of model -> upstream");
    this.routes = routes;
    this.fallback = c.getString("default");
    this.bodyField = c.getString("bodyField");
    this.maxBytes = <u32>c.getNumber("maxBytes", 1048576);
    const body = this.bodyField !== null ? BodyMode.streamBuffer(this.maxBytes) : BodyMode.none();
    return ConfigResult.ok(new FilterInfo("header-router", body, BodyMode.none()).withoutResponseHeaders());
  }

  /** Continue towards the upstream for `key`, or unchanged when neither a route nor a default fits. */
  route(key: string | null): Action {
    let upstream = key !== null ? this.routes.getString(key) : null;
    if (upstream === null) upstream = this.fallback;
    if (upstream === null) return Action.continue();
    const m = new Mutations().setUpstream(upstream);
    if (key !== null && isHeaderText(key)) m.setHeader("x-praxis-route-model", key);
    return Action.continueWith(m);
  }

  onRequestHeaders(info: RequestInfo, head: RequestHead): Action {
    const key = head.headers.get(this.header);
    if (key !== null) {
      if (this.bodyField !== null) context.setString(DECIDED, "1");
      return this.route(key);
    }
    if (this.bodyField === null && this.fallback !== null) return this.route(null);
    return Action.continue();
  }

  onRequestBody(info: RequestInfo, chunk: Uint8Array, endOfStream: bool): Action {
    if (context.getString(DECIDED) !== null) return Action.bodyDone();
    const body = bufferBody(info, "request", chunk, endOfStream);
    if (body === null) return Action.continue(); // keep holding until end of stream
    const json = Json.parse(bytesToString(body));
    const key = json !== null ? json.getString(this.bodyField!) : null;
    if (key === null) {
      log.debug("header-router: no `" + this.bodyField! + "` in the body");
      return this.route(null);
    }
    return this.route(key);
  }
}

registerFilter(() => new HeaderRouter() as Filter);
