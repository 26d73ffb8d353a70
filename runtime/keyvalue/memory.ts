/**
 * The default backend: one process's memory. Entries expire by TTL (checked on access and by a
 * sweep once a second), the whole store is bounded by entries and bytes with least-recently-used
 * eviction, and each plugin is bounded by the entries and bytes it wrote: past its own bound a
 * write is a `limit` error (one plugin cannot evict another's data by filling the store, only the
 * store-wide bound evicts). Calls complete synchronously; the scope is checked by store.ts.
 */
import { type KvBackend, type KvOwner, counterBytes, fail, inS64, ok, parseCounter, sameBytes } from './backend.ts';
import type { KvResult } from './types.ts';

export interface MemoryBounds {
  /** Entries held by the whole store; the least recently used go first past it. */
  maxEntries: number;
  /** Bytes (keys and values) held by the whole store; the least recently used go first past it. */
  maxBytes: number;
}

export const DEFAULT_MEMORY_BOUNDS: MemoryBounds = { maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 };

interface Usage { entries: number; bytes: number }

interface Entry {
  readonly value: Uint8Array;
  /** ms since epoch; 0: no expiry. */
  readonly expiresAt: number;
  readonly size: number;
  readonly owner: string;
}

const SWEEP_MS = 1000;

export class MemoryBackend implements KvBackend {
  readonly kind = 'memory' as const;
  private readonly bounds: MemoryBounds;
  /** Map order is recency order: a read or write moves the entry to the end. */
  private readonly entries = new Map<string, Entry>();
  private readonly usage = new Map<string, Usage>();
  private bytes = 0;
  private lastSweep = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(bounds: Partial<MemoryBounds> = {}) {
    this.bounds = { ...DEFAULT_MEMORY_BOUNDS, ...bounds };
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** Entries and bytes the store holds, and those charged to `owner`. */
  stats(owner?: string): { entries: number; bytes: number; owner?: Usage } {
    const mine = owner === undefined ? undefined : { ...(this.usage.get(owner) ?? { entries: 0, bytes: 0 }) };
    return { entries: this.entries.size, bytes: this.bytes, ...(mine ? { owner: mine } : {}) };
  }

  async get(_scope: unknown, key: string): Promise<KvResult<Uint8Array | undefined>> {
    const entry = this.live(key);
    if (!entry) return ok(undefined);
    this.entries.delete(key);
    this.entries.set(key, entry);
    return ok(entry.value.slice());
  }

  async set(_scope: unknown, owner: KvOwner, key: string, value: Uint8Array, ttlMs?: number): Promise<KvResult<void>> {
    return this.write(owner, key, value.slice(), ttlMs);
  }

  async delete(_scope: unknown, key: string): Promise<KvResult<boolean>> {
    const entry = this.live(key);
    if (!entry) return ok(false);
    this.remove(key, entry);
    return ok(true);
  }

  async increment(_scope: unknown, owner: KvOwner, key: string, delta: bigint, ttlMs?: number): Promise<KvResult<bigint>> {
    const entry = this.live(key);
    const current = entry ? parseCounter(entry.value) : 0n;
    if (current === undefined) return fail('invalid', 'the value at this key is not a 64-bit integer');
    const next = current + delta;
    if (!inS64(next)) return fail('invalid', 'increment would overflow a 64-bit integer');
    // The TTL applies on create only: an existing counter keeps its expiry.
    const written = this.write(owner, key, counterBytes(next), entry ? undefined : ttlMs, entry?.expiresAt);
    return written.ok ? ok(next) : written;
  }

  async compareAndSwap(_scope: unknown, owner: KvOwner, key: string, expected: Uint8Array | undefined, value: Uint8Array, ttlMs?: number): Promise<KvResult<boolean>> {
    const entry = this.live(key);
    const matches = entry === undefined ? expected === undefined : expected !== undefined && sameBytes(entry.value, expected);
    if (!matches) return ok(false);
    const written = this.write(owner, key, value.slice(), ttlMs);
    return written.ok ? ok(true) : written;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
    this.usage.clear();
    this.bytes = 0;
  }

  /** The entry at `key` unless it has expired (an expired one is removed on the way). */
  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      this.remove(key, entry);
      return undefined;
    }
    return entry;
  }

  private write(owner: KvOwner, key: string, value: Uint8Array, ttlMs: number | undefined, keepExpiry?: number): KvResult<void> {
    const size = Buffer.byteLength(key) + value.byteLength;
    if (size > this.bounds.maxBytes) return fail('limit', `entry of ${size} bytes exceeds the store's maxBytes (${this.bounds.maxBytes})`);
    const previous = this.live(key);
    let refusal = this.overOwnerBounds(owner, previous, size);
    if (refusal !== undefined) {
      // Expired entries still count until swept: sweep before refusing (at most every 100 ms,
      // so a plugin at its bound cannot make every call walk the whole store).
      if (Date.now() - this.lastSweep >= 100) this.sweep();
      refusal = this.overOwnerBounds(owner, this.entries.get(key), size);
      if (refusal !== undefined) return fail('limit', refusal);
    }
    const current = this.entries.get(key);
    if (current) this.remove(key, current);
    const expiresAt = ttlMs !== undefined ? Date.now() + ttlMs : (keepExpiry ?? 0);
    this.evictFor(size);
    this.entries.set(key, { value, expiresAt, size, owner: owner.name });
    this.bytes += size;
    const usage = this.usageOf(owner.name);
    usage.entries++;
    usage.bytes += size;
    return ok(undefined);
  }

  /** Why writing `size` bytes at a key now holding `previous` would exceed `owner`'s bounds, if it would. */
  private overOwnerBounds(owner: KvOwner, previous: Entry | undefined, size: number): string | undefined {
    const usage = this.usage.get(owner.name) ?? { entries: 0, bytes: 0 };
    const replacesOwn = previous !== undefined && previous.owner === owner.name;
    const entries = usage.entries + (replacesOwn ? 0 : 1);
    const bytes = usage.bytes + size - (replacesOwn ? previous.size : 0);
    if (entries > owner.maxEntries) return `plugin "${owner.name}" holds its maxEntries (${owner.maxEntries})`;
    if (bytes > owner.maxBytes) return `plugin "${owner.name}" would hold ${bytes} bytes, over its maxBytes (${owner.maxBytes})`;
    return undefined;
  }

  /** Least recently used entries go until `size` more bytes and one more entry fit the store. */
  private evictFor(size: number): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size < this.bounds.maxEntries && this.bytes + size <= this.bounds.maxBytes) return;
      this.remove(key, entry);
    }
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.size;
    const usage = this.usage.get(entry.owner);
    if (!usage) return;
    usage.entries--;
    usage.bytes -= entry.size;
    if (usage.entries === 0) this.usage.delete(entry.owner);
  }

  private usageOf(owner: string): Usage {
    let usage = this.usage.get(owner);
    if (!usage) this.usage.set(owner, usage = { entries: 0, bytes: 0 });
    return usage;
  }

  private sweep(): void {
    const now = Date.now();
    this.lastSweep = now;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt !== 0 && entry.expiresAt <= now) this.remove(key, entry);
    }
  }
}
