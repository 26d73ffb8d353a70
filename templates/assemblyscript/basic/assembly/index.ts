// {{name}}: a praxis-wasm filter. Requests that carry the configured header are rejected with
// 403; the others go on with an `x-filtered-by` header, so its tests show both a rejection and
// a mutation. Replace the logic with yours; keep schema.json in step with configure().
import {
  Filter, registerFilter, Action, Mutations, FilterInfo, ConfigResult, RequestInfo, RequestHead, Json, log,
} from "praxis-wasm-sdk-assemblyscript";

class {{className}} extends Filter {
  blockHeader: string = "x-block";
  stamp: string = "{{name}}";

  configure(config: string): ConfigResult {
    const c = Json.parse(config);
    if (c === null || !c.isObject()) return ConfigResult.err("{{name}}: config is not a JSON object");
    this.blockHeader = c.getString("blockHeader", "x-block")!.toLowerCase();
    this.stamp = c.getString("stamp", "{{name}}")!;
    // No body hooks, no response-headers hook: the host then never calls them.
    return ConfigResult.ok(new FilterInfo("{{name}}").withoutResponseHeaders());
  }

  onRequestHeaders(info: RequestInfo, head: RequestHead): Action {
    if (head.headers.get(this.blockHeader) !== null) {
      log.info("blocked " + head.method + " " + head.path + ": " + this.blockHeader);
      return Action.rejectString(403, null, "blocked by {{name}}");
    }
    return Action.continueWith(new Mutations().setHeader("x-filtered-by", this.stamp));
  }
}

registerFilter(() => new {{className}}() as Filter);
