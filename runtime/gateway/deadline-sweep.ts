/**
 * One interval for the deadlines of every exchange in flight, instead of a setTimeout and a
 * clearTimeout per exchange: Node keeps timers in lists per duration inside a priority queue,
 * and that upkeep measured 1-3 µs per request in the gateway's CPU profile. An entry is due once
 * `performance.now()` reaches its `due`; the sweep runs every `SWEEP_TICK_MS` while any entry is
 * listed (and stops when none is), so a deadline is reached at most one tick late, never early.
 * Entries are linked in place: listing and unlisting one allocates nothing.
 */

export const SWEEP_TICK_MS = 10;

export abstract class SweptDeadline {
  /** When it is due, in `performance.now()` milliseconds. */
  protected due = Infinity;
  /** Links of the sweep's list; `listed` says whether this entry is in it. */
  prev: SweptDeadline | undefined = undefined;
  next: SweptDeadline | undefined = undefined;
  listed = false;

  /** Called by the sweep once `now >= due`: end the entry (`unlist`) or move `due` on. */
  abstract onDue(now: number): void;

  isDue(now: number): boolean {
    return now >= this.due;
  }
}

let head: SweptDeadline | undefined;
let timer: NodeJS.Timeout | undefined;
// Reused between sweeps: the due entries are gathered first, then called, so a callback that
// lists or unlists entries never disturbs the walk.
const dueNow: SweptDeadline[] = [];

export function list(entry: SweptDeadline): void {
  if (entry.listed) return;
  entry.listed = true;
  entry.prev = undefined;
  entry.next = head;
  if (head) head.prev = entry;
  head = entry;
  // Unref'd: a deadline never keeps a process alive on its own (its exchange's socket does).
  timer ??= setInterval(sweep, SWEEP_TICK_MS).unref();
}

export function unlist(entry: SweptDeadline): void {
  if (!entry.listed) return;
  entry.listed = false;
  if (entry.prev) entry.prev.next = entry.next;
  else head = entry.next;
  if (entry.next) entry.next.prev = entry.prev;
  entry.prev = entry.next = undefined;
}

function sweep(): void {
  if (head === undefined) {
    clearInterval(timer);
    timer = undefined;
    return;
  }
  const now = performance.now();
  for (let e: SweptDeadline | undefined = head; e; e = e.next) if (e.isDue(now)) dueNow.push(e);
  for (let i = 0; i < dueNow.length; i++) {
    const e = dueNow[i]!;
    if (e.listed) e.onDue(now);
  }
  dueNow.length = 0;
}

/** Entries listed now (tests and the soak's at-rest check). */
export function listedDeadlines(): number {
  let n = 0;
  for (let e = head; e; e = e.next) n++;
  return n;
}
