/** Non-queuing counters for the in-flight caps: a slot is taken at once or not at all. */

export class Semaphore {
  #max: number;
  #used = 0;

  constructor(max: number) {
    this.#max = max;
  }

  tryAcquire(): boolean {
    if (this.#used >= this.#max) return false;
    this.#used++;
    return true;
  }

  release(): void {
    if (this.#used > 0) this.#used--;
  }

  get used(): number {
    return this.#used;
  }

  get full(): boolean {
    return this.#used >= this.#max;
  }
}

/** Per-key counters whose cap is given at acquire time (a plugin's policy may change). */
export class KeyedLimiter {
  #used = new Map<string, number>();

  tryAcquire(key: string, max: number): boolean {
    const n = this.#used.get(key) ?? 0;
    if (n >= max) return false;
    this.#used.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = this.#used.get(key) ?? 0;
    if (n <= 1) this.#used.delete(key);
    else this.#used.set(key, n - 1);
  }

  used(key: string): number {
    return this.#used.get(key) ?? 0;
  }
}

/** Takes one slot from the global and one from the plugin's limiter, or neither. */
export function acquireBoth(global: Semaphore, perPlugin: KeyedLimiter, plugin: string, pluginMax: number): (() => void) | undefined {
  if (!global.tryAcquire()) return undefined;
  if (!perPlugin.tryAcquire(plugin, pluginMax)) {
    global.release();
    return undefined;
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    perPlugin.release(plugin);
    global.release();
  };
}
