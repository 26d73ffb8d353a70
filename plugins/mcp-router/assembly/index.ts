// mcp-router: session-sticky routing for MCP's Streamable HTTP transport. A request carrying
// Mcp-Session-Id goes to the server that created that session (looked up in the key-value
// store, or asked of a session service); a request without one is assigned a server by policy,
// and the session id that server answers with is recorded. Unknown sessions get 404 (the MCP
// spec's "session expired": the client initialises again); DELETE ends the mapping.
import {
  Filter, registerFilter, Action, Mutations, BodyMode, FilterInfo, ConfigResult, RequestInfo, RequestHead, ResponseHead,
  Headers, Json, context, log,
} from "../../../sdk-assemblyscript/assembly";
import { Assigner, POLICIES } from "./policy";
import { SessionTable } from "./sessions";

const SESSION_HEADER = "mcp-session-id";
const DESTINATION = "x-gateway-destination-endpoint";
/** context: the server this request went to, the session it belongs to, and what to do on the way back. */
const SERVER = "mcp-router.server";
const SESSION = "mcp-router.session";
const NEW = "mcp-router.new";
const ENDING = "mcp-router.ending";

/** MCP session ids are visible ASCII (0x21-0x7E). */
function isSessionId(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** host:port, as the gateway compares picked endpoints. */
function isHostPort(s: string): bool {
  const colon = s.lastIndexOf(":");
  return colon > 0 && colon < s.length - 1 && s.indexOf("/") < 0 && I32.parseInt(s.substring(colon + 1)) > 0;
}

/** A JSON-RPC error answer, as an MCP server would give it (no request id: the body is not read). */
function jsonRpcError(status: u16, code: i32, message: string): Action {
  const body = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":" + code.toString() + ",\"message\":" + Json.quote(message) + "},\"id\":null}";
  return Action.rejectString(status, new Headers().set("content-type", "application/json"), body);
}

class McpRouter extends Filter {
  servers: string[] = [];
  assigner: Assigner = new Assigner(0, [], "");
  sessions: SessionTable = new SessionTable("", 0, "", 0);
  hashHeader: string = "";

  configure(config: string): ConfigResult {
    const c = Json.parse(config);
    if (c === null || !c.isObject()) return ConfigResult.err("mcp-router: config is not a JSON object");
    this.servers = c.getStringArray("servers");
    if (this.servers.length == 0) return ConfigResult.err("mcp-router: `servers` must list at least one host:port");
    for (let i = 0; i < this.servers.length; i++) {
      if (!isHostPort(this.servers[i])) return ConfigResult.err("mcp-router: `servers` entries are host:port, not " + this.servers[i]);
    }
    const policy = POLICIES.indexOf(c.getString("policy", "round-robin")!);
    if (policy < 0) return ConfigResult.err("mcp-router: `policy` must be round-robin, least-sessions or hash");
    const store = c.getString("store", "")!;
    this.assigner = new Assigner(<u8>policy, this.servers, store);
    const ttl = c.getNumber("sessionTtlSeconds", 3600);
    if (ttl < 1) return ConfigResult.err("mcp-router: `sessionTtlSeconds` must be at least 1");
    let service = c.getString("sessionService", "")!;
    while (service.endsWith("/")) service = service.substring(0, service.length - 1);
    this.sessions = new SessionTable(store, <u32>(ttl * 1000), service, <u32>c.getNumber("serviceTimeoutMs", 500));
    this.hashHeader = c.getString("hashHeader", "")!;
    return ConfigResult.ok(new FilterInfo("mcp-router", BodyMode.none(), BodyMode.none()));
  }

  /** What the hash policy spreads on: a configured header, else the client address, else the request id. */
  spreadKey(info: RequestInfo, head: RequestHead): string {
    const name = this.hashHeader.length > 0 ? this.hashHeader : "x-forwarded-for";
    const v = head.headers.get(name);
    if (v === null) return info.requestId;
    // The gateway appends the peer address last to x-forwarded-for.
    return this.hashHeader.length > 0 ? v : v.substring(v.lastIndexOf(",") + 1).trim();
  }

  route(server: string): Action {
    context.setString(SERVER, server);
    return Action.continueWith(new Mutations().setHeader(DESTINATION, server));
  }

  onRequestHeaders(info: RequestInfo, head: RequestHead): Action {
    const id = head.headers.get(SESSION_HEADER);
    if (id === null) {
      // No session yet: an initialize (or a request of a stateless server). Assign by policy.
      context.setString(NEW, "1");
      return this.route(this.assigner.pick(this.spreadKey(info, head)));
    }
    if (!isSessionId(id)) return jsonRpcError(400, -32600, "Bad Request: invalid Mcp-Session-Id");
    const found = this.sessions.lookup(id);
    if (found.failed !== null) {
      log.warn("mcp-router: session lookup failed (" + found.failed! + ")");
      return jsonRpcError(503, -32603, "Session store unavailable");
    }
    if (found.server === null || this.servers.indexOf(found.server!) < 0) {
      // Expired, never seen, or on a server no longer configured: the client must re-initialise.
      return jsonRpcError(404, -32001, "Session not found");
    }
    context.setString(SESSION, id);
    if (head.method == "DELETE") context.setString(ENDING, "1");
    return this.route(found.server!);
  }

  onResponseHeaders(info: RequestInfo, head: ResponseHead): Action {
    const server = context.getString(SERVER);
    if (server === null) return Action.continue();
    if (context.getString(NEW) !== null) {
      const id = head.headers.get(SESSION_HEADER);
      if (id !== null && isSessionId(id) && head.status >= 200 && head.status < 300 && this.sessions.record(id, server!)) {
        this.assigner.count(server!, 1);
      }
      return Action.continue();
    }
    const id = context.getString(SESSION)!;
    // A DELETE the server accepted (or a session it no longer knows) ends the mapping.
    const ended = context.getString(ENDING) !== null ? (head.status < 300 || head.status == 404) : head.status == 404;
    if (ended && this.sessions.forget(id)) this.assigner.count(server!, -1);
    return Action.continue();
  }
}

registerFilter(() => new McpRouter() as Filter);
