// semantic-router: asks a classifier service for the category of a chat prompt, then sets the
// model (the body's `model` field), the upstream and the endpoint from the category's route.
import {
  Filter, registerFilter, Action, Mutations, BodyMode, FilterInfo, ConfigResult, RequestInfo, Headers,
  Json, Subrequest, httpSubrequest, log, bufferBody, bytesToString, stringToBytes,
} from "../../../sdk-assemblyscript/assembly";

/** The endpoint-picker header (docs/config.md#endpoint-picking). */
const DESTINATION = "x-gateway-destination-endpoint";
/** Tells the upstream (and the access log's reader) which category decided. */
const CATEGORY = "x-praxis-semantic-category";

class Route {
  constructor(public model: string | null, public upstream: string | null, public endpoint: string | null) {}
}

function jsonError(status: u16, type: string, reason: string): Action {
  const body = "{\"error\":{\"type\":" + Json.quote(type) + ",\"reason\":" + Json.quote(reason) + "}}";
  return Action.rejectString(status, new Headers().set("content-type", "application/json"), body);
}

/** True when `s` can travel as an HTTP header value (visible ASCII and spaces). */
function isHeaderToken(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

class SemanticRouter extends Filter {
  classifierUrl: string = "";
  timeoutMs: u32 = 500;
  failOpen: bool = true;
  minConfidence: f64 = 0;
  categories: string[] = [];
  routes: Route[] = [];
  fallback: string | null = null;
  models: string[] = [];

  configure(config: string): ConfigResult {
    const c = Json.parse(config);
    if (c === null || !c.isObject()) return ConfigResult.err("semantic-router: config is not a JSON object");
    const url = c.getString("classifierUrl");
    if (url === null) return ConfigResult.err("semantic-router: `classifierUrl` is required");
    this.classifierUrl = url;
    this.timeoutMs = <u32>c.getNumber("timeoutMs", 500);
    const mode = c.getString("failMode", "open")!;
    if (mode != "open" && mode != "closed") return ConfigResult.err("semantic-router: `failMode` must be \"open\" or \"closed\"");
    this.failOpen = mode == "open";
    this.minConfidence = c.getNumber("minConfidence", 0);
    this.models = c.getStringArray("models");
    const routes = c.get("routes");
    if (routes === null || !routes.isObject() || routes.keys.length == 0) return ConfigResult.err("semantic-router: `routes` must be a non-empty object of category -> route");
    for (let i = 0; i < routes.keys.length; i++) {
      const r = routes.items[i];
      if (!r.isObject()) return ConfigResult.err("semantic-router: `routes." + routes.keys[i] + "` must be an object");
      const route = new Route(r.getString("model"), r.getString("upstream"), r.getString("endpoint"));
      if (route.model === null && route.upstream === null && route.endpoint === null) {
        return ConfigResult.err("semantic-router: `routes." + routes.keys[i] + "` sets none of model, upstream, endpoint");
      }
      if (route.endpoint !== null && !isHeaderToken(route.endpoint!)) return ConfigResult.err("semantic-router: `routes." + routes.keys[i] + ".endpoint` is not host:port");
      this.categories.push(routes.keys[i]);
      this.routes.push(route);
    }
    this.fallback = c.getString("default");
    if (this.fallback !== null && this.routeOf(this.fallback!) === null) return ConfigResult.err("semantic-router: `default` names no route");
    const maxBytes = <u32>c.getNumber("maxBytes", 1048576);
    return ConfigResult.ok(new FilterInfo("semantic-router", BodyMode.streamBuffer(maxBytes), BodyMode.none()).withoutRequestHeaders().withoutResponseHeaders());
  }

  routeOf(category: string): Route | null {
    const i = this.categories.indexOf(category);
    return i < 0 ? null : this.routes[i];
  }

  /** No usable classification: the default route (if any), else unchanged (open) or 503 (closed). */
  unclassified(text: string, why: string, failure: bool): Action {
    if (failure && !this.failOpen) {
      log.warn("semantic-router: classifier failed (" + why + "); failMode closed, answering 503");
      const colon = why.indexOf(":");
      return jsonError(503, "semantic_router_unavailable", "classifier failed: " + (colon < 0 ? why : why.substring(0, colon)));
    }
    if (this.fallback === null) {
      log.warn("semantic-router: " + why + "; no default route, the request goes on unchanged");
      return Action.continue();
    }
    log.info("semantic-router: " + why + "; using the default route " + this.fallback!);
    return this.apply(text, this.fallback!);
  }

  apply(text: string, category: string): Action {
    const route = this.routeOf(category)!;
    const m = new Mutations();
    if (route.model !== null) {
      const body = Json.setMember(text, "model", Json.quote(route.model!));
      if (body !== null) m.setBodyString(body);
    }
    if (route.upstream !== null) m.setUpstream(route.upstream!);
    if (route.endpoint !== null) m.setHeader(DESTINATION, route.endpoint!);
    if (isHeaderToken(category)) m.setHeader(CATEGORY, category);
    return Action.continueWith(m);
  }

  onRequestBody(info: RequestInfo, chunk: Uint8Array, endOfStream: bool): Action {
    const body = bufferBody(info, "request", chunk, endOfStream);
    if (body === null) return Action.continue();
    const text = bytesToString(body);
    const json = Json.parse(text);
    if (json === null || !json.isObject()) return Action.continue(); // not a chat request
    const model = Json.chatModel(json);
    // Only the listed model names (e.g. "auto") are routed; a client that named a model keeps it.
    if (this.models.length > 0 && (model === null || !this.models.includes(model!))) return Action.continue();
    const prompt = Json.lastUserMessage(json);
    if (prompt === null) return Action.continue();
    const req = Subrequest.post(this.classifierUrl, stringToBytes(this.classifierBody(prompt, model)))
      .header("content-type", "application/json").timeout(this.timeoutMs);
    const r = httpSubrequest(req);
    if (!r.ok) return this.unclassified(text, r.error!.toString(), true);
    const res = r.response!;
    if (res.status < 200 || res.status > 299) return this.unclassified(text, "status " + res.status.toString(), true);
    const answer = Json.parse(res.text());
    if (answer === null || !answer.isObject()) return this.unclassified(text, "answer is not a JSON object", true);
    const category = answer.getString("category");
    if (category === null) return this.unclassified(text, "answer has no category", true);
    if (this.routeOf(category) === null) return this.unclassified(text, "no route for category " + Json.quote(category), false);
    const confidence = answer.getNumber("confidence", 1);
    if (confidence < this.minConfidence) return this.unclassified(text, "confidence " + confidence.toString() + " below minConfidence", false);
    return this.apply(text, category);
  }

  classifierBody(prompt: string, model: string | null): string {
    return "{\"text\":" + Json.quote(prompt) + (model !== null ? ",\"model\":" + Json.quote(model!) : "") + "}";
  }
}

registerFilter(() => new SemanticRouter() as Filter);
