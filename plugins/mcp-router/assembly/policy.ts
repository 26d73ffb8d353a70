// How a new session (a request without Mcp-Session-Id) is given a server.
import { keyvalue, log } from "../../../sdk-assemblyscript/assembly";
import { fnv1a } from "./sessions";

export const ROUND_ROBIN: u8 = 0;
export const LEAST_SESSIONS: u8 = 1;
export const HASH: u8 = 2;
export const POLICIES: string[] = ["round-robin", "least-sessions", "hash"];

/** The store counter of sessions recorded on `server` (least-sessions). */
export function countKey(server: string): string {
  return "sessions:" + server;
}

export class Assigner {
  constructor(public policy: u8, public servers: string[], public store: string) {}

  /**
   * The server for a new session. `spread` is what the hash policy hashes (and what any policy
   * falls back to when the store cannot answer, so a store outage still spreads new sessions).
   */
  pick(spread: string): string {
    const n = this.servers.length;
    if (this.policy == ROUND_ROBIN) {
      // One counter in the store: gateways sharing a backend take turns together.
      const r = keyvalue.increment(this.store, "round-robin", 1);
      if (r.ok) return this.servers[<i32>((r.value - 1) % <i64>n)];
      log.warn("mcp-router: round-robin counter unavailable (" + r.error!.toString() + "); hashing instead");
    } else if (this.policy == LEAST_SESSIONS) {
      let best = -1;
      let fewest: i64 = i64.MAX_VALUE;
      for (let i = 0; i < n; i++) {
        const r = keyvalue.getString(this.store, countKey(this.servers[i]));
        if (!r.ok) {
          best = -1;
          log.warn("mcp-router: session counts unavailable (" + r.error!.toString() + "); hashing instead");
          break;
        }
        const count = r.value === null ? 0 : I64.parseInt(r.value!);
        if (count < fewest) {
          fewest = count;
          best = i;
        }
      }
      if (best >= 0) return this.servers[best];
    }
    return this.servers[<i32>(fnv1a(spread) % <u32>n)];
  }

  /** Keeps the least-sessions counts: +1 when a session is recorded, -1 when one ends. */
  count(server: string, delta: i64): void {
    if (this.policy != LEAST_SESSIONS) return;
    const r = keyvalue.increment(this.store, countKey(server), delta);
    if (!r.ok) log.warn("mcp-router: session count not updated (" + r.error!.toString() + ")");
  }
}
