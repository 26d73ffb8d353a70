// deny-list: rejects a request whose body contains one of the configured patterns.
import {
  Filter, registerFilter, Action, BodyMode, FilterInfo, ConfigResult, RequestInfo, Headers, Json,
  bufferBody, bytesToString,
} from "../../../sdk-assemblyscript/assembly";

class DenyList extends Filter {
  patterns: string[] = [];
  caseInsensitive: bool = true;

  configure(config: string): ConfigResult {
    const c = Json.parse(config);
    if (c === null || !c.isObject()) return ConfigResult.err("deny-list: config is not a JSON object");
    this.caseInsensitive = c.getBool("caseInsensitive", true);
    const raw = c.getStringArray("patterns");
    for (let i = 0; i < raw.length; i++) {
      if (raw[i].length) this.patterns.push(this.caseInsensitive ? raw[i].toLowerCase() : raw[i]);
    }
    const maxBytes = <u32>c.getNumber("maxBytes", 65536);
    return ConfigResult.ok(new FilterInfo("deny-list", BodyMode.streamBuffer(maxBytes), BodyMode.none()).withoutRequestHeaders().withoutResponseHeaders());
  }

  onRequestBody(info: RequestInfo, chunk: Uint8Array, endOfStream: bool): Action {
    const body = bufferBody(info, "request", chunk, endOfStream);
    if (body === null) return Action.continue(); // keep holding until end of stream
    let text = bytesToString(body);
    if (this.caseInsensitive) text = text.toLowerCase();
    for (let i = 0; i < this.patterns.length; i++) {
      if (text.includes(this.patterns[i])) {
        const json = "{\"error\":{\"type\":\"denied\",\"pattern\":" + Json.quote(this.patterns[i]) + "}}";
        return Action.rejectString(403, new Headers().set("content-type", "application/json"), json);
      }
    }
    return Action.release();
  }
}

registerFilter(() => new DenyList() as Filter);
