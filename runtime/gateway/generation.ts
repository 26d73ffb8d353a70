/**
 * One version of the running config: its number, the config it came from, its plugins, and the
 * state its exchanges read (route table, pipelines, upstreams). Immutable once built: an
 * exchange takes the current generation when it starts and finishes on it (retries included),
 * so a reload never changes a request half-way. A retired generation lends nothing new; it is
 * released once its last exchange ends, or when the grace period runs out.
 */
import type { GatewayConfig } from '../config/types.ts';
import type { LoadedPlugin } from './plugins.ts';

/** What a front door builds per generation beyond the plugins, and how it lets go of it. */
export interface GenerationParts<S> {
  readonly state: S;
  /** Lets go of what the state holds (upstream connections) once no exchange needs it. */
  release(): Promise<void>;
  /** Cuts what is still open, when the grace period ran out. */
  abort?(): Promise<void>;
}

export class Generation<S> {
  readonly version: number;
  readonly config: GatewayConfig;
  readonly filters: ReadonlyMap<string, LoadedPlugin>;
  readonly parts: GenerationParts<S>;
  private active = 0;
  private onIdle: (() => void) | undefined;

  constructor(version: number, config: GatewayConfig, filters: ReadonlyMap<string, LoadedPlugin>, parts: GenerationParts<S>) {
    this.version = version;
    this.config = config;
    this.filters = filters;
    this.parts = parts;
  }

  get state(): S {
    return this.parts.state;
  }

  /** Exchanges (or ext_proc streams) running on this generation now. */
  get inFlight(): number {
    return this.active;
  }

  /** An exchange starts on this generation; pair with `leave()`. */
  enter(): this {
    this.active++;
    return this;
  }

  leave(): void {
    if (--this.active === 0) this.onIdle?.();
  }

  /** Resolves true once nothing runs on this generation, false when `graceMs` passed first. */
  drained(graceMs: number): Promise<boolean> {
    if (this.active === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.onIdle = undefined; resolve(false); }, graceMs);
      timer.unref();
      this.onIdle = () => { clearTimeout(timer); this.onIdle = undefined; resolve(true); };
    });
  }
}
