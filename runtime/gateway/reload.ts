/**
 * Live reload, for both front doors. A reload builds the next generation completely (config
 * checked, every plugin loaded and its pool warm) before it swaps it in with one assignment; a
 * failure anywhere changes nothing, and the running generation keeps serving. The replaced
 * generation drains: exchanges already on it finish there, and its pools close once the last
 * one ends (or the grace period, `limits.shutdownGraceMs`, runs out). Reloads run one at a time.
 */
import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import type { GatewayConfig } from '../config/types.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { Chains } from './chains.ts';
import { type ConfigChanges, describeChanges, effectiveConfig } from './config-version.ts';
import { Generation, type GenerationParts } from './generation.ts';
import { closeFresh, pluginsForReload } from './plugin-reuse.ts';
import type { LoadedPlugin } from './plugins.ts';

export type ReloadOutcome =
  | { ok: true; version: number; changes: ConfigChanges; needsRestart: string[]; ms: number }
  | { ok: false; version: number; error: string };

/** A config, or how to read one (its errors count as a failed reload too). */
export type ConfigSource = GatewayConfig | (() => Promise<GatewayConfig>);

export interface ReloaderOptions<S> {
  chains: Chains;
  logger: Logger;
  /** Folder relative plugin paths resolve against (the config file's). */
  baseDir: string;
  /** Checks a config before any plugin loads (throws, naming the key); returns how to assemble its state. */
  prepare(config: GatewayConfig): (pipelines: Map<string, Pipeline>) => GenerationParts<S>;
}

export class Reloader<S> {
  private gen: Generation<S>;
  private readonly opts: ReloaderOptions<S>;
  /** Generations (current and draining) holding each pool: a kept plugin's pool closes with its last one. */
  private readonly refs = new Map<LoadedPlugin, number>();
  private readonly retiring = new Set<Generation<S>>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly versionGauge: Gauge;
  private readonly reloads: Counter<'outcome'>;

  constructor(opts: ReloaderOptions<S>, config: GatewayConfig, parts: GenerationParts<S>) {
    this.opts = opts;
    this.gen = this.hold(new Generation(1, config, opts.chains.filters, parts));
    const registers = [opts.chains.metrics.registry];
    // A cluster's primary sums gauges by default; the lowest version any worker serves says more.
    this.versionGauge = new Gauge({ name: 'praxis_config_version', help: 'Version of the config serving new requests (1 at start, +1 per successful reload)', registers, aggregator: 'min' });
    this.versionGauge.set(1);
    this.reloads = new Counter({ name: 'praxis_config_reloads_total', help: 'Config reloads, by outcome', labelNames: ['outcome'], registers });
    this.reloads.inc({ outcome: 'success' }, 0);
    this.reloads.inc({ outcome: 'error' }, 0);
  }

  /** The generation new exchanges start on. */
  get current(): Generation<S> {
    return this.gen;
  }

  /** Generations replaced but still finishing exchanges. */
  get draining(): number {
    return this.retiring.size;
  }

  reload(source: ConfigSource): Promise<ReloadOutcome> {
    const run = this.queue.then(() => this.apply(source));
    this.queue = run;
    return run;
  }

  private async apply(source: ConfigSource): Promise<ReloadOutcome> {
    const started = performance.now();
    const running = this.gen;
    const { chains, logger } = this.opts;
    try {
      if (this.closed) throw new Error('the gateway is shutting down');
      const next = typeof source === 'function' ? await source() : source;
      const { config, needsRestart } = effectiveConfig(running.config, next);
      const assemble = this.opts.prepare(config);
      const { filters, kept } = await pluginsForReload(config.plugins ?? {}, { config: running.config.plugins ?? {}, filters: running.filters }, this.opts.baseDir, chains.load);
      let gen: Generation<S>;
      try {
        if (this.closed) throw new Error('the gateway is shutting down');
        const pipelines = chains.pipelinesFor(config, filters);
        gen = new Generation(running.version + 1, config, filters, assemble(pipelines));
        // The swap: from here new exchanges start on `gen`.
        this.gen = this.hold(gen);
        chains.adopt(filters, pipelines);
      } catch (err) {
        await closeFresh(filters, kept);
        throw err;
      }
      this.retire(running);
      const changes = describeChanges(running.config, config, kept);
      const ms = +(performance.now() - started).toFixed(1);
      this.versionGauge.set(gen.version);
      this.reloads.inc({ outcome: 'success' });
      logger.info({ version: gen.version, ...changes, needsRestart, ms }, `config reloaded: version ${gen.version}`);
      if (needsRestart.length) logger.warn({ keys: needsRestart }, `config reload: ${needsRestart.join(', ')} changed but apply only on restart; the running values stay`);
      return { ok: true, version: gen.version, changes, needsRestart, ms };
    } catch (err) {
      const error = (err as Error).message;
      this.reloads.inc({ outcome: 'error' });
      logger.error({ version: running.version, error }, `config reload failed, version ${running.version} keeps serving: ${error}`);
      return { ok: false, version: running.version, error };
    }
  }

  private hold(gen: Generation<S>): Generation<S> {
    for (const f of gen.filters.values()) this.refs.set(f, (this.refs.get(f) ?? 0) + 1);
    return gen;
  }

  private retire(gen: Generation<S>): void {
    this.retiring.add(gen);
    const graceMs = this.gen.config.limits?.shutdownGraceMs ?? 10_000;
    void gen.drained(graceMs).then(async (clean) => {
      if (!this.retiring.has(gen)) return; // close() got there first
      if (!clean) {
        this.opts.logger.warn({ version: gen.version, inFlight: gen.inFlight, graceMs }, 'reload: the old version\'s requests outlived the grace period; cutting them');
        await gen.parts.abort?.();
        if (!this.retiring.has(gen)) return; // close() released it while the cut ran: once only
      }
      await this.release(gen);
    }).catch((err: unknown) => this.opts.logger.error({ err, version: gen.version }, 'reload: releasing the old version failed'));
  }

  /** Lets go of a retired generation: its state, and every pool no live generation still holds. */
  private async release(gen: Generation<S>): Promise<void> {
    this.retiring.delete(gen);
    const closing: Promise<void>[] = [gen.parts.release()];
    for (const f of gen.filters.values()) {
      const n = (this.refs.get(f) ?? 1) - 1;
      if (n > 0) this.refs.set(f, n);
      else {
        this.refs.delete(f);
        closing.push(f.pool.close());
      }
    }
    await Promise.all(closing);
    this.opts.logger.info({ version: gen.version }, `reload: version ${gen.version} drained and closed`);
  }

  /** Cuts what every generation still has open (the shutdown's grace ran out). */
  async abort(): Promise<void> {
    await Promise.all([...this.retiring, this.gen].map((g) => g.parts.abort?.()));
  }

  /**
   * At shutdown, once exchanges are done: waits for a reload under way, releases the draining
   * generations and the current one's state. The current pools are the chains' to close.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await Promise.all([...this.retiring].map((g) => this.release(g)));
    await this.gen.parts.release();
  }
}
