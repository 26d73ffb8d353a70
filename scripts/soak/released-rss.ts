/**
 * Resident memory once V8 has collected everything and handed back the free pages it keeps for
 * reuse: what the process holds. Needs `--expose-gc`; node's gc() takes V8's options, and a
 * `last-resort` collection is the one that also releases V8's pooled pages and shrinks the young
 * generation (an ordinary full GC leaves both resident; see soak/memory.ts).
 */
type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

export function releasedRss(): number {
  const gc = (globalThis as { gc?: Gc }).gc;
  if (!gc) throw new Error('releasedRss needs node --expose-gc');
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return process.memoryUsage().rss;
}
