// semantic-cache: answers repeated chat prompts from a cache service; fills it on a miss.
import {
  Filter, registerFilter, Action, Mutations, BodyMode, FilterInfo, ConfigResult, RequestInfo, ResponseHead,
  Headers, Json, Subrequest, httpSubrequest, context, log, bufferBody, bytesToString,
} from "../../../sdk-assemblyscript/assembly";

const KEY = "semantic-cache.key"; // context: the key of a miss, set on the request path
const STATUS = "semantic-cache.status"; // context: the upstream status, set on response headers

/** FNV-1a 32-bit of the utf-8 bytes, as 8 hex digits. */
function fnv1a(s: string): string {
  const b = Uint8Array.wrap(String.UTF8.encode(s));
  let h: u32 = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = (h ^ b[i]) * 0x01000193;
  return h.toString(16).padStart(8, "0");
}

/** Lower case, whitespace runs collapsed to one space, trimmed. */
function normalise(s: string): string {
  const lower = s.toLowerCase();
  const words: string[] = [];
  let start = -1; // start of the current word, -1 between words
  for (let i = 0; i <= lower.length; i++) {
    const c = i < lower.length ? lower.charCodeAt(i) : 32;
    const space = c == 32 || c == 9 || c == 10 || c == 13;
    if (space && start >= 0) {
      words.push(lower.substring(start, i));
      start = -1;
    } else if (!space && start < 0) start = i;
  }
  return words.join(" ");
}

class SemanticCache extends Filter {
  cacheUrl: string = "";
  timeoutMs: u32 = 300;

  configure(config: string): ConfigResult {
    const c = Json.parse(config);
    if (c === null || !c.isObject()) return ConfigResult.err("semantic-cache: config is not a JSON object");
    const url = c.getString("cacheUrl");
    if (url === null) return ConfigResult.err("semantic-cache: `cacheUrl` is required");
    this.cacheUrl = url.endsWith("/") ? url.substring(0, url.length - 1) : url;
    this.timeoutMs = <u32>c.getNumber("timeoutMs", 300);
    const max = BodyMode.streamBuffer(<u32>c.getNumber("maxBytes", 1048576));
    return ConfigResult.ok(new FilterInfo("semantic-cache", max, max).withoutRequestHeaders());
  }

  onRequestBody(info: RequestInfo, chunk: Uint8Array, endOfStream: bool): Action {
    const body = bufferBody(info, "request", chunk, endOfStream);
    if (body === null) return Action.continue();
    const json = Json.parse(bytesToString(body));
    if (json === null) return Action.continue();
    const model = Json.chatModel(json);
    const prompt = Json.lastUserMessage(json);
    if (model === null || prompt === null) return Action.continue();
    const key = fnv1a(normalise(model) + "\n" + normalise(prompt));
    const r = httpSubrequest(Subrequest.get(this.cacheUrl + "/cache/" + key).timeout(this.timeoutMs));
    if (!r.ok) {
      log.warn("semantic-cache: lookup failed (" + r.error!.toString() + "); continuing");
      return Action.continue();
    }
    const res = r.response!;
    if (res.status == 200) {
      const h = new Headers().set("content-type", "application/json").set("x-praxis-cache", "hit");
      return Action.reject(200, h, res.body);
    }
    if (res.status != 404) log.warn("semantic-cache: lookup answered " + res.status.toString() + "; continuing");
    context.setString(KEY, key); // a miss: the response path stores the answer under this key
    return Action.continue();
  }

  onResponseHeaders(info: RequestInfo, head: ResponseHead): Action {
    if (context.getString(KEY) === null) return Action.continue();
    context.setU32(STATUS, head.status);
    return Action.continueWith(new Mutations().setHeader("x-praxis-cache", "miss"));
  }

  onResponseBody(info: RequestInfo, chunk: Uint8Array, endOfStream: bool): Action {
    const key = context.getString(KEY);
    if (key === null || context.getU32(STATUS) != 200) return Action.bodyDone();
    const body = bufferBody(info, "response", chunk, endOfStream);
    if (body === null) return Action.continue();
    // PUT of the same key and body is idempotent: a retried attempt may store it again.
    const r = httpSubrequest(Subrequest.put(this.cacheUrl + "/cache/" + key, body).header("content-type", "application/json").timeout(this.timeoutMs));
    if (!r.ok) log.warn("semantic-cache: store failed (" + r.error!.toString() + ")");
    else if (r.response!.status > 299) log.warn("semantic-cache: store answered " + r.response!.status.toString());
    return Action.continue();
  }
}

registerFilter(() => new SemanticCache() as Filter);
