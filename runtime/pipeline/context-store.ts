/**
 * The request-scoped store behind the `context` import: one namespace per plugin, bounded in
 * keys and bytes per plugin. It lives as long as the client request, so values a filter sets
 * in one attempt are still there when a retry runs its hooks again (checkpoints).
 */
import { type GuestLimits, MAX_CONTEXT_KEY_BYTES } from './guest-limits.ts';

/** Why a `set` was dropped. */
export type StoreRefusal = 'key-too-long' | 'too-many-keys' | 'too-many-bytes';

interface Namespace {
  readonly entries: Map<string, Uint8Array>;
  /** UTF-8 bytes of keys plus bytes of values. */
  bytes: number;
  /** Whether a refusal was already reported for this request. */
  refused: boolean;
}

export class RequestStore {
  private readonly spaces = new Map<string, Namespace>();

  get(plugin: string, key: string): Uint8Array | undefined {
    return this.spaces.get(plugin)?.entries.get(key);
  }

  /**
   * Keeps `value` under `key`, or answers why not; a refused set changes nothing (an earlier
   * value under the key stays).
   */
  set(plugin: string, key: string, value: Uint8Array, limits: Pick<GuestLimits, 'maxContextBytes' | 'maxContextKeys'>): StoreRefusal | undefined {
    const keyBytes = Buffer.byteLength(key, 'utf8');
    if (keyBytes > MAX_CONTEXT_KEY_BYTES) return 'key-too-long';
    let ns = this.spaces.get(plugin);
    const old = ns?.entries.get(key);
    if (!old && (ns?.entries.size ?? 0) >= limits.maxContextKeys) return 'too-many-keys';
    const bytes = (ns?.bytes ?? 0) + value.byteLength - (old ? keyBytes + old.byteLength : 0) + keyBytes;
    if (bytes > limits.maxContextBytes) return 'too-many-bytes';
    if (!ns) {
      ns = { entries: new Map(), bytes: 0, refused: false };
      this.spaces.set(plugin, ns);
    }
    ns.entries.set(key, value);
    ns.bytes = bytes;
    return undefined;
  }

  /** Marks that `plugin` had a set refused; true the first time in this request. */
  firstRefusal(plugin: string): boolean {
    let ns = this.spaces.get(plugin);
    if (!ns) {
      ns = { entries: new Map(), bytes: 0, refused: false };
      this.spaces.set(plugin, ns);
    }
    if (ns.refused) return false;
    ns.refused = true;
    return true;
  }

  /** What `plugin` keeps in this request's store. */
  usage(plugin: string): { keys: number; bytes: number } {
    const ns = this.spaces.get(plugin);
    return { keys: ns?.entries.size ?? 0, bytes: ns?.bytes ?? 0 };
  }
}
