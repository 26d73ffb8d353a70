// {{name}}: a praxis-wasm filter that asks a service before letting a request through. It sends
// the request's `authorization` header to `authUrl`: 200 lets it pass (marked `x-auth-checked: 1`,
// with the service's `x-auth-user` answer header copied), any other status is 403, no header is
// 401, and a failed call (timeout, connect, denied, ...) is 503. Replace the logic with yours; keep schema.json in step with configure().
import {
  Filter, registerFilter, Action, Mutations, FilterInfo, ConfigResult, RequestInfo, RequestHead, Json, log,
  Subrequest, httpSubrequest,
} from "praxis-wasm-sdk-assemblyscript";

class {{className}} extends Filter {
  authUrl: string = "";
  timeoutMs: u32 = 500;

  configure(config: string): ConfigResult {
    const c = Json.parse(config);
    if (c === null || !c.isObject()) return ConfigResult.err("{{name}}: config is not a JSON object");
    const url = c.getString("authUrl");
    if (url === null) return ConfigResult.err("{{name}}: `authUrl` is required");
    this.authUrl = url;
    this.timeoutMs = <u32>c.getNumber("timeoutMs", 500);
    return ConfigResult.ok(new FilterInfo("{{name}}").withoutResponseHeaders());
  }

  onRequestHeaders(info: RequestInfo, head: RequestHead): Action {
    const token = head.headers.get("authorization");
    if (token === null) return Action.rejectString(401, null, "missing authorization");
    // The guest is suspended here while the host makes the call; other requests keep flowing.
    const r = httpSubrequest(Subrequest.get(this.authUrl).header("authorization", token).timeout(this.timeoutMs));
    if (!r.ok) {
      log.warn("auth service failed: " + r.error!.toString());
      return Action.rejectString(503, null, "auth unavailable");
    }
    const res = r.response!;
    if (res.status != 200) return Action.rejectString(403, null, "forbidden");
    const m = new Mutations().setHeader("x-auth-checked", "1");
    const user = res.headers.get("x-auth-user");
    if (user !== null) m.setHeader("x-auth-user", user);
    return Action.continueWith(m);
  }
}

registerFilter(() => new {{className}}() as Filter);
