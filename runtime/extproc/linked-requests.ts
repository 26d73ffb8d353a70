/**
 * Route-phase contexts that upstream-phase streams look up by `x-request-id`. Behind Envoy the
 * route's filters and a backend's upstream filters run on different ext_proc streams (one per
 * attempt for the latter); this is how an attempt's filters see what the route's filters put in
 * the request's context store, as they do in the standalone gateway.
 *
 * Bounded in size (the oldest entry is dropped to make room) and in time (an entry is not
 * answered past its request's deadline), and dropped when the route-phase stream ends. An id two
 * live route-phase streams share (a client echoing another's id) links neither: no request can
 * read another's context by naming its id.
 */
import type { RequestContext } from '../pipeline/request-context.ts';

interface Entry {
  /** undefined once a second live stream registered the same id. */
  ctx: RequestContext | undefined;
  owners: number;
}

export type Lookup =
  | { kind: 'found'; ctx: RequestContext }
  | { kind: 'none' | 'expired' | 'ambiguous' };

export class LinkedRequests {
  private readonly byId = new Map<string, Entry>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Holds `ctx` under its id until the returned release runs (the route-phase stream's end). */
  register(ctx: RequestContext): () => void {
    let entry = this.byId.get(ctx.id);
    if (entry) {
      entry.ctx = undefined;
      entry.owners++;
    } else {
      if (this.byId.size >= this.max) this.makeRoom();
      entry = { ctx, owners: 1 };
      this.byId.set(ctx.id, entry);
    }
    const held = entry;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // An entry evicted meanwhile (and perhaps replaced under the same id) is not this one's to drop.
      if (--held.owners === 0 && this.byId.get(ctx.id) === held) this.byId.delete(ctx.id);
    };
  }

  lookup(id: string, now = Date.now()): Lookup {
    const entry = this.byId.get(id);
    if (!entry) return { kind: 'none' };
    if (!entry.ctx) return { kind: 'ambiguous' };
    if (entry.ctx.deadline <= now) return { kind: 'expired' };
    return { kind: 'found', ctx: entry.ctx };
  }

  /** The oldest entry goes (Map keeps insertion order): O(1), and the oldest is the likeliest done. */
  private makeRoom(): void {
    const oldest = this.byId.keys().next();
    if (!oldest.done) this.byId.delete(oldest.value);
  }
}
