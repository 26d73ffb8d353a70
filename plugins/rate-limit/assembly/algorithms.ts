// The three limiters over the key-value store. Each answers a Decision, or null with `failure`
// set when the store could not be asked (the filter's failureMode decides then).
import { keyvalue, KvError } from "../../../sdk-assemblyscript/assembly";

export class Decision {
  constructor(
    public allowed: bool,
    /** Requests left now (rounded down). */
    public remaining: i64,
    /** Seconds until the client may retry (denied) or until the window resets (allowed). */
    public resetSeconds: i64,
  ) {}
}

export class Limiter {
  failure: KvError | null = null;
  constructor(public store: string, public limit: i64, public windowMs: i64) {}

  private fail(e: KvError): Decision | null {
    this.failure = e;
    return null;
  }

  /** ceil(ms / 1000), at least 1 when ms > 0. */
  static seconds(ms: i64): i64 {
    return ms <= 0 ? 0 : (ms + 999) / 1000;
  }

  /** Fixed windows aligned to the epoch: one counter per window, every request counted. */
  fixed(key: string, now: i64): Decision | null {
    const idx = now / this.windowMs;
    const r = keyvalue.increment(this.store, key + ":" + idx.toString(), 1, <u32>(2 * this.windowMs));
    if (!r.ok) return this.fail(r.error!);
    const reset = Limiter.seconds((idx + 1) * this.windowMs - now);
    const left = this.limit - r.value;
    return new Decision(r.value <= this.limit, left > 0 ? left : 0, reset);
  }

  /**
   * Sliding window, the two-window estimate: previous window's count weighted by the part of it
   * still inside the sliding window, plus the current one's. A denied request takes its count back,
   * so a client that keeps knocking is not locked out for good.
   */
  sliding(key: string, now: i64): Decision | null {
    const idx = now / this.windowMs;
    const curKey = key + ":" + idx.toString();
    const r = keyvalue.increment(this.store, curKey, 1, <u32>(2 * this.windowMs));
    if (!r.ok) return this.fail(r.error!);
    const p = keyvalue.getString(this.store, key + ":" + (idx - 1).toString());
    if (!p.ok) return this.fail(p.error!);
    const prev = p.value === null ? 0 : I64.parseInt(p.value!);
    const intoWindow = now - idx * this.windowMs;
    const f = <f64>intoWindow / <f64>this.windowMs;
    const estimate = <f64>prev * (1 - f) + <f64>r.value;
    const limit = <f64>this.limit;
    if (estimate <= limit) {
      const left = <i64>Math.floor(limit - estimate);
      return new Decision(true, left, Limiter.seconds(this.windowMs - intoWindow));
    }
    keyvalue.increment(this.store, curKey, -1); // best effort: a failure only over-counts
    const cur = <f64>(r.value - 1);
    let waitMs: f64;
    if (cur + 1 <= limit && prev > 0) {
      // Later in this window the previous one's weight drops enough: prev*(1-f') + cur + 1 <= limit.
      const fNeeded = 1 - (limit - 1 - cur) / <f64>prev;
      waitMs = (fNeeded - f) * <f64>this.windowMs;
    } else {
      // Not before the next window, where this one weighs cur*(1-g): cur*(1-g) + 1 <= limit.
      const g = cur > 0 ? Math.max(0, 1 - (limit - 1) / cur) : 0;
      waitMs = <f64>(this.windowMs - intoWindow) + g * <f64>this.windowMs;
    }
    return new Decision(false, 0, Limiter.seconds(<i64>Math.ceil(Math.max(waitMs, 1))));
  }

  /**
   * Token bucket: `limit` tokens, refilled at limit per window, state "<milli-tokens>:<ms>" moved
   * with compare-and-swap so concurrent gateways never spend the same token twice.
   */
  bucket(key: string, now: i64): Decision | null {
    const capacity = this.limit * 1000; // milli-tokens
    const ttl = <u32>(2 * this.windowMs);
    for (let attempt = 0; attempt < 16; attempt++) {
      const g = keyvalue.get(this.store, key);
      if (!g.ok) return this.fail(g.error!);
      const old = g.value;
      let tokens = capacity;
      if (old !== null) {
        const text = String.UTF8.decode(old.buffer.slice(old.byteOffset, old.byteOffset + old.byteLength));
        const colon = text.indexOf(":");
        if (colon > 0) {
          const stored = I64.parseInt(text.substring(0, colon));
          let elapsed = now - I64.parseInt(text.substring(colon + 1));
          if (elapsed < 0) elapsed = 0; // another gateway's clock runs a little ahead
          const refill = elapsed * capacity / this.windowMs;
          tokens = stored + refill > capacity ? capacity : stored + refill;
        }
      }
      if (tokens < 1000) {
        const waitMs = (1000 - tokens) * this.windowMs / capacity;
        return new Decision(false, 0, Limiter.seconds(waitMs > 0 ? waitMs : 1));
      }
      const next = (tokens - 1000).toString() + ":" + now.toString();
      const c = keyvalue.compareAndSwap(this.store, key, old, Uint8Array.wrap(String.UTF8.encode(next)), ttl);
      if (!c.ok) return this.fail(c.error!);
      if (c.value) return new Decision(true, (tokens - 1000) / 1000, Limiter.seconds((capacity - tokens + 1000) * this.windowMs / capacity));
    }
    // Lost every race: answer as if empty for a moment rather than spin.
    return new Decision(false, 0, 1);
  }
}
