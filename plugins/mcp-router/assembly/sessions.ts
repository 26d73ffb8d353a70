// Where session -> server mappings live: the key-value store (shared by every gateway on one
// backend), or a session service asked by sub-request. Either answers a Lookup, never traps.
import { Json, Subrequest, httpSubrequest, keyvalue, log, stringToBytes } from "../../../sdk-assemblyscript/assembly";

/** FNV-1a 32-bit: a stable spread (hash policy) and a short key for a long session id. */
export function fnv1a(s: string): u32 {
  const b = Uint8Array.wrap(String.UTF8.encode(s));
  let h: u32 = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = (h ^ <u32>b[i]) * 0x01000193;
  return h;
}

/** The store key of a session: ids past the store's key bound are hashed (with their length). */
function sessionKey(id: string): string {
  return id.length <= 200 ? "session:" + id : "session#" + id.length.toString() + ":" + fnv1a(id).toString(16);
}

export class Lookup {
  /** The server the session is on; null when the session is unknown (or `failed`). */
  server: string | null = null;
  /** Why the mapping could not be read (store or service down): the request cannot be routed. */
  failed: string | null = null;
}

export class SessionTable {
  constructor(
    public store: string,
    public ttlMs: u32,
    /** Base URL of a session service, or "" for the key-value store. */
    public service: string,
    public serviceTimeoutMs: u32,
  ) {}

  serviceUrl(id: string): string {
    return this.service + "/sessions/" + encodeURIComponent(id);
  }

  lookup(id: string): Lookup {
    const out = new Lookup();
    if (this.service.length > 0) {
      const r = httpSubrequest(Subrequest.get(this.serviceUrl(id)).timeout(this.serviceTimeoutMs));
      if (!r.ok) out.failed = "session service: " + r.error!.toString();
      else if (r.response!.status == 200) {
        const json = Json.parse(r.response!.text());
        out.server = json !== null ? json.getString("server") : null;
        if (out.server === null) out.failed = "session service: no `server` in its answer";
      } else if (r.response!.status != 404) out.failed = "session service: status " + r.response!.status.toString();
      return out;
    }
    const r = keyvalue.getString(this.store, sessionKey(id));
    if (!r.ok) out.failed = "store: " + r.error!.toString();
    else if (r.value !== null) {
      out.server = r.value;
      // Sliding expiry: a session in use keeps its mapping (a lost refresh only shortens it).
      keyvalue.setString(this.store, sessionKey(id), r.value!, this.ttlMs);
    }
    return out;
  }

  /** Records a new session's server; false (logged) when it could not be recorded. */
  record(id: string, server: string): bool {
    if (this.service.length > 0) {
      const body = "{\"server\":" + Json.quote(server) + ",\"ttlSeconds\":" + (this.ttlMs / 1000).toString() + "}";
      const req = new Subrequest("PUT", this.serviceUrl(id)).header("content-type", "application/json").timeout(this.serviceTimeoutMs);
      req.body = stringToBytes(body);
      const r = httpSubrequest(req);
      const ok = r.ok && r.response!.status < 300;
      if (!ok) log.warn("mcp-router: session service did not record a session (" + (r.ok ? "status " + r.response!.status.toString() : r.error!.toString()) + ")");
      return ok;
    }
    const r = keyvalue.setString(this.store, sessionKey(id), server, this.ttlMs);
    if (!r.ok) log.warn("mcp-router: session not recorded (" + r.error!.toString() + "); its next request will get 404");
    return r.ok;
  }

  /** Forgets a session; true when there was a mapping to remove. */
  forget(id: string): bool {
    if (this.service.length > 0) {
      const r = httpSubrequest(new Subrequest("DELETE", this.serviceUrl(id)).timeout(this.serviceTimeoutMs));
      return r.ok && r.response!.status < 300;
    }
    const r = keyvalue.delete(this.store, sessionKey(id));
    if (!r.ok) log.warn("mcp-router: session mapping not removed (" + r.error!.toString() + "); it expires with its TTL");
    return r.value;
  }
}
