/**
 * A pool of instances of one plugin, on generic-pool. Each instance is configured once when it
 * is made; it is lent to one call at a time (a suspended instance must never be re-entered);
 * an instance that trapped or broke a limit is destroyed, never returned.
 */
import genericPool from 'generic-pool';
import type { Pool } from 'generic-pool';
import type { ComponentFactory, FilterInfo, FilterInstance, HostCalls } from '../component/types.ts';
import { Ejection, type EjectionState } from './ejection.ts';

export interface PoolLimits {
  min: number;
  max: number;
  acquireTimeoutMs: number;
}

export const DEFAULT_POOL_LIMITS: PoolLimits = { min: 1, max: 16, acquireTimeoutMs: 1000 };

/** The pool could not lend an instance in time; the request gets 503 naming the plugin. */
export class PoolTimeoutError extends Error {
  readonly plugin: string;
  constructor(plugin: string, timeoutMs: number) {
    super(`plugin ${plugin}: no instance free within ${timeoutMs} ms`);
    this.name = 'PoolTimeoutError';
    this.plugin = plugin;
  }
}

/** The guest's configure() answered an error: the plugin cannot load. */
export class ConfigureError extends Error {
  constructor(plugin: string, message: string) {
    super(`plugin ${plugin}: configure failed: ${message}`);
    this.name = 'ConfigureError';
  }
}

export interface PoolStats {
  plugin: string;
  size: number;
  available: number;
  borrowed: number;
  pending: number;
  min: number;
  max: number;
  created: number;
  destroyed: number;
  /** Whether the plugin is ejected for failing repeatedly (see ejection.ts). */
  ejection: EjectionState;
}

export class PluginPool {
  readonly plugin: string;
  readonly info: FilterInfo;
  /** The plugin's outlier-ejection state; the invoker consults it before lending an instance. */
  readonly ejection: Ejection;
  private readonly pool: Pool<FilterInstance>;
  private readonly limits: PoolLimits;
  private created = 0;
  private destroyed = 0;
  /**
   * Warm instances kept in front of generic-pool (which still counts them as borrowed). Most
   * calls find one here and skip generic-pool's per-acquire promise and timer; an instance goes
   * back to generic-pool whenever a caller is queued there, so waiters are never starved.
   */
  private readonly warm: FilterInstance[] = [];

  private constructor(plugin: string, info: FilterInfo, pool: Pool<FilterInstance>, limits: PoolLimits, ejection: Ejection) {
    this.plugin = plugin;
    this.info = info;
    this.ejection = ejection;
    this.pool = pool;
    this.limits = limits;
  }

  /**
   * Makes one instance up front and configures it, so a configure error fails the load with
   * the guest's own message (generic-pool would otherwise retry it forever in the background).
   * `ejection` defaults to the default policy, unlogged.
   */
  static async create(
    plugin: string, factory: ComponentFactory, config: string, limits: PoolLimits, configHost: HostCalls,
    ejection: Ejection = new Ejection(plugin),
  ): Promise<PluginPool> {
    const makeInstance = async (): Promise<{ instance: FilterInstance; info: FilterInfo }> => {
      const instance = await factory.instantiate();
      const result = await instance.configure(configHost, config);
      if (!result.ok) throw new ConfigureError(plugin, result.error);
      return { instance, info: result.value };
    };
    const first = await makeInstance();
    let spare: FilterInstance | undefined = first.instance;
    let self: PluginPool | undefined;
    const pool = genericPool.createPool<FilterInstance>(
      {
        create: async () => {
          if (self) self.created++;
          if (spare) {
            const s = spare;
            spare = undefined;
            return s;
          }
          return (await makeInstance()).instance;
        },
        destroy: async () => {
          if (self) self.destroyed++;
        },
      },
      { min: limits.min, max: limits.max, acquireTimeoutMillis: limits.acquireTimeoutMs, autostart: true },
    );
    self = new PluginPool(plugin, first.info, pool, limits, ejection);
    return self;
  }

  /**
   * Lends an instance. With `signal`, a request that goes away while waiting stops waiting at
   * once; the instance it would have got is handed straight back when it comes.
   */
  acquire(signal?: AbortSignal): Promise<FilterInstance> {
    const ready = this.warm.pop();
    if (ready) return Promise.resolve(ready);
    return this.acquireCold(signal);
  }

  /** A warm instance at once, with no promise, or undefined when a call must wait on `acquire`. */
  lendWarm(): FilterInstance | undefined {
    return this.warm.pop();
  }

  /** Lends through generic-pool (its queue, its acquire timeout), stopping early when `signal` aborts. */
  private acquireCold(signal?: AbortSignal): Promise<FilterInstance> {
    const pending = this.pool.acquire().catch((err: unknown) => {
      if (err instanceof Error && err.name === 'TimeoutError') throw new PoolTimeoutError(this.plugin, this.limits.acquireTimeoutMs);
      throw err;
    });
    if (!signal) return pending;
    if (signal.aborted) {
      pending.then((i) => this.pool.release(i), () => {});
      return Promise.reject(new Error(`plugin ${this.plugin}: request went away while waiting for an instance`));
    }
    return new Promise<FilterInstance>((resolve, reject) => {
      const onAbort = () => {
        reject(new Error(`plugin ${this.plugin}: request went away while waiting for an instance`));
        pending.then((i) => this.pool.release(i), () => {});
      };
      signal.addEventListener('abort', onAbort, { once: true });
      pending.then(
        (i) => {
          signal.removeEventListener('abort', onAbort);
          if (signal.aborted) return; // already handed back by onAbort
          resolve(i);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  /** Give back an instance after a call; one whose call failed is destroyed instead. */
  release(instance: FilterInstance, failed: unknown): Promise<void> | undefined {
    if (failed) return this.pool.destroy(instance);
    // The common case returns nothing: no promise for a plain push.
    if (this.pool.pending === 0 && !this.closing) return void this.warm.push(instance);
    return this.pool.release(instance);
  }

  private closing = false;

  /** Runs `call` on a lent instance, and gives it back (or destroys it) whatever happens. */
  async use<T>(call: (instance: FilterInstance) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const instance = await this.acquire(signal);
    let failure: unknown;
    try {
      return await call(instance);
    } catch (err) {
      failure = err ?? new Error('unknown failure');
      throw err;
    } finally {
      void this.release(instance, failure);
    }
  }

  stats(): PoolStats {
    return {
      plugin: this.plugin,
      size: this.pool.size,
      available: this.pool.available + this.warm.length,
      borrowed: this.pool.borrowed - this.warm.length,
      pending: this.pool.pending,
      min: this.pool.min,
      max: this.pool.max,
      created: this.created,
      destroyed: this.destroyed,
      ejection: this.ejection.state(),
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.warm.splice(0).map((i) => this.pool.release(i)));
    await this.pool.drain();
    await this.pool.clear();
  }
}
