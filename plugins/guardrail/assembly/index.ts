// guardrail: sends the last user message of a chat request to a scanner; blocks on its verdict.
import {
  Filter, registerFilter, Action, BodyMode, FilterInfo, ConfigResult, RequestInfo, Headers, Json,
  Subrequest, httpSubrequest, log, bufferBody, bytesToString, stringToBytes,
} from "../../../sdk-assemblyscript/assembly";

function jsonError(status: u16, type: string, reason: string): Action {
  const body = "{\"error\":{\"type\":" + Json.quote(type) + ",\"reason\":" + Json.quote(reason) + "}}";
  return Action.rejectString(status, new Headers().set("content-type", "application/json"), body);
}

class Guardrail extends Filter {
  scannerUrl: string = "";
  failOpen: bool = false;
  timeoutMs: u32 = 500;

  configure(config: string): ConfigResult {
    const c = Json.parse(config);
    if (c === null || !c.isObject()) return ConfigResult.err("guardrail: config is not a JSON object");
    const url = c.getString("scannerUrl");
    if (url === null) return ConfigResult.err("guardrail: `scannerUrl` is required");
    this.scannerUrl = url;
    const mode = c.getString("failMode", "closed")!;
    if (mode != "open" && mode != "closed") return ConfigResult.err("guardrail: `failMode` must be \"open\" or \"closed\"");
    this.failOpen = mode == "open";
    this.timeoutMs = <u32>c.getNumber("timeoutMs", 500);
    const maxBytes = <u32>c.getNumber("maxBytes", 1048576);
    return ConfigResult.ok(new FilterInfo("guardrail", BodyMode.streamBuffer(maxBytes), BodyMode.none()).withoutRequestHeaders().withoutResponseHeaders());
  }

  /** The scanner could not answer: block (closed) or let the request through (open). */
  scannerFailed(why: string): Action {
    if (this.failOpen) {
      log.warn("guardrail: scanner failed (" + why + "); failMode open, continuing");
      return Action.continue();
    }
    // The client learns the kind of failure only; addresses and error text stay in the log.
    log.warn("guardrail: scanner failed (" + why + "); failMode closed, answering 503");
    const colon = why.indexOf(":");
    return jsonError(503, "guardrail_unavailable", "scanner failed: " + (colon < 0 ? why : why.substring(0, colon)));
  }

  onRequestBody(info: RequestInfo, chunk: Uint8Array, endOfStream: bool): Action {
    const body = bufferBody(info, "request", chunk, endOfStream);
    if (body === null) return Action.continue();
    const json = Json.parse(bytesToString(body));
    const prompt = json !== null ? Json.lastUserMessage(json) : null;
    if (prompt === null) return Action.continue(); // not a chat request: nothing to scan
    // A scan has no side effects, so a retried attempt may simply scan again.
    const req = Subrequest.post(this.scannerUrl, stringToBytes("{\"prompt\":" + Json.quote(prompt) + "}"))
      .header("content-type", "application/json")
      .timeout(this.timeoutMs);
    const r = httpSubrequest(req);
    if (!r.ok) return this.scannerFailed(r.error!.toString());
    const res = r.response!;
    if (res.status < 200 || res.status > 299) return this.scannerFailed("status " + res.status.toString());
    const verdict = Json.parse(res.text());
    if (verdict === null) return this.scannerFailed("answer is not JSON");
    const v = verdict.getString("verdict");
    if (v == "block") return jsonError(403, "guardrail", verdict.getString("reason", "blocked by guardrail")!);
    if (v == "allow") return Action.continue();
    return this.scannerFailed("unknown verdict");
  }
}

registerFilter(() => new Guardrail() as Filter);
