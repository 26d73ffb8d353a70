// rag: retrieves context for the last user message of a chat request and injects it as a system
// message. Retrieval is best effort: any failure lets the request go on unchanged (logged).
import {
  Filter, registerFilter, Action, Mutations, BodyMode, FilterInfo, ConfigResult, RequestInfo,
  Json, JsonValue, Subrequest, httpSubrequest, log, bufferBody, bytesToString, stringToBytes,
} from "../../../sdk-assemblyscript/assembly";

/** The text of one retrieved document: a string, or an object's `text` (else `content`). */
function documentText(d: JsonValue): string | null {
  if (d.isString()) return d.str;
  const t = d.getString("text");
  return t !== null ? t : d.getString("content");
}

/** The first `n` UTF-16 units of `s`, one fewer when the cut would split a surrogate pair. */
function cut(s: string, n: i32): string {
  const last = s.charCodeAt(n - 1);
  return s.substring(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}

class Rag extends Filter {
  retrieverUrl: string = "";
  timeoutMs: u32 = 500;
  topK: i32 = 3;
  maxContextChars: i32 = 8000;
  prefix: string = "";

  configure(config: string): ConfigResult {
    const c = Json.parse(config);
    if (c === null || !c.isObject()) return ConfigResult.err("rag: config is not a JSON object");
    const url = c.getString("retrieverUrl");
    if (url === null) return ConfigResult.err("rag: `retrieverUrl` is required");
    this.retrieverUrl = url;
    this.timeoutMs = <u32>c.getNumber("timeoutMs", 500);
    this.topK = <i32>c.getNumber("topK", 3);
    this.maxContextChars = <i32>c.getNumber("maxContextChars", 8000);
    this.prefix = c.getString("systemPrefix", "Answer using the following context.\n\n")!;
    const maxBytes = <u32>c.getNumber("maxBytes", 1048576);
    return ConfigResult.ok(new FilterInfo("rag", BodyMode.streamBuffer(maxBytes), BodyMode.none()).withoutRequestHeaders().withoutResponseHeaders());
  }

  /** The retrieved documents joined by blank lines (at most maxContextChars), or null on failure. */
  retrieve(query: string): string | null {
    const body = "{\"query\":" + Json.quote(query) + ",\"topK\":" + this.topK.toString() + "}";
    const r = httpSubrequest(Subrequest.post(this.retrieverUrl, stringToBytes(body)).header("content-type", "application/json").timeout(this.timeoutMs));
    if (!r.ok) return this.failed(r.error!.toString());
    const res = r.response!;
    if (res.status < 200 || res.status > 299) return this.failed("status " + res.status.toString());
    const answer = Json.parse(res.text());
    if (answer === null || !answer.isObject()) return this.failed("answer is not a JSON object");
    const docs = answer.getArray("documents");
    const texts: string[] = [];
    let total = 0;
    for (let i = 0; i < docs.length && i < this.topK; i++) {
      const t = documentText(docs[i]);
      if (t === null || t.length == 0) continue;
      // The bound keeps a verbose retriever from blowing the model's context window.
      const room = this.maxContextChars - total;
      if (room <= 0) break;
      const kept = t.length > room ? cut(t, room) : t;
      texts.push(kept);
      total += kept.length + 2;
    }
    return texts.join("\n\n");
  }

  failed(why: string): string | null {
    log.warn("rag: retrieval failed (" + why + "); the request goes on unchanged");
    return null;
  }

  onRequestBody(info: RequestInfo, chunk: Uint8Array, endOfStream: bool): Action {
    const body = bufferBody(info, "request", chunk, endOfStream);
    if (body === null) return Action.continue();
    const text = bytesToString(body);
    const json = Json.parse(text);
    const query = json !== null ? Json.lastUserMessage(json) : null;
    if (query === null || query.length == 0) return Action.continue(); // not a chat request
    const context = this.retrieve(query);
    if (context === null) return Action.continue();
    if (context.length == 0) {
      log.debug("rag: nothing retrieved; the request goes on unchanged");
      return Action.continue();
    }
    // The context goes first, as a system message; everything else in the body keeps its bytes.
    const messages = json!.get("messages")!;
    const system = JsonValue.newObject();
    system.set("role", JsonValue.newString("system"));
    system.set("content", JsonValue.newString(this.prefix + context));
    const injected = JsonValue.newArray();
    injected.push(system);
    for (let i = 0; i < messages.items.length; i++) injected.push(messages.items[i]);
    const out = Json.setMember(text, "messages", Json.stringify(injected));
    if (out === null) return Action.continue();
    return Action.continueWith(new Mutations().setBodyString(out));
  }
}

registerFilter(() => new Rag() as Filter);
