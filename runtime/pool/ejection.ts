/**
 * Outlier ejection for one plugin, as Envoy does for upstream hosts: a plugin whose hooks keep
 * failing (trap, CPU budget, memory ceiling) is taken out of every chain for a back-off that
 * doubles with each ejection, up to a cap. When the back-off ends, exactly one call (the probe) is
 * let through; its success brings the plugin back, its failure ejects it again for longer.
 *
 * The hot path reads `until` only: 0 while the plugin is in service. Everything else runs on a
 * failure or while the plugin is out.
 */
import type { Logger } from 'pino';

export interface EjectionPolicy {
  enabled: boolean;
  /** This many failures within `windowMs` eject the plugin. */
  failures: number;
  windowMs: number;
  /** First back-off; doubled per ejection that follows within `maxMs` of the last return. */
  baseMs: number;
  /** Back-off cap; also the quiet time after which the back-off starts again from `baseMs`. */
  maxMs: number;
}

export const DEFAULT_EJECTION: EjectionPolicy = { enabled: true, failures: 5, windowMs: 10_000, baseMs: 5_000, maxMs: 300_000 };

/** What ended a hook call badly, as counted for ejection and reported in logs and metrics. */
export type FailureKind = 'trap' | 'cpu-budget' | 'memory' | 'invalid-action';

export interface EjectionState {
  /** Out of service (its back-off running, or its probe call in flight). */
  ejected: boolean;
  /** When the back-off ends (epoch ms), while ejected. */
  until: number | null;
  /** Ejections since the plugin was loaded. */
  ejections: number;
}

/** While a probe call is in flight, others are told to come back in this long. */
const PROBE_RETRY_MS = 1000;

export class Ejection {
  readonly plugin: string;
  /**
   * 0 while in service; otherwise the epoch ms at which the back-off ends (a probe may go). The
   * one field the success path reads.
   */
  until = 0;
  private readonly policy: EjectionPolicy;
  private readonly log: Pick<Logger, 'warn' | 'info'> | undefined;
  /** Times of the last `failures` failures (-Infinity: none), as a ring: the oldest is at `next`. */
  private readonly recent: Float64Array;
  private next = 0;
  private probing = false;
  /** Ejections in a row (each within `maxMs` of the previous return): the back-off's exponent. */
  private streak = 0;
  private returnedAt = 0;
  private total = 0;

  constructor(plugin: string, policy: EjectionPolicy = DEFAULT_EJECTION, log?: Pick<Logger, 'warn' | 'info'>) {
    this.plugin = plugin;
    this.policy = policy;
    this.log = log;
    this.recent = new Float64Array(policy.failures).fill(-Infinity);
  }

  /**
   * Asked only when `until` is not 0. Returns 0 when this call is the probe (the caller must then
   * report its end with `probeSucceeded`, `failed(…, true)` or `probeAbandoned`), otherwise how
   * many ms the caller should treat the plugin as out.
   */
  admit(now: number): number {
    if (this.probing) return PROBE_RETRY_MS;
    if (now < this.until) return this.until - now;
    this.probing = true;
    return 0;
  }

  /** A guest failure of a call; `probe` when the call was the one `admit` let through. */
  failed(kind: FailureKind, now: number, probe: boolean): void {
    if (!this.policy.enabled) return;
    if (probe) {
      this.probing = false;
      this.eject(kind, now, 1, 'its probe call failed');
      return;
    }
    // A call that started before the ejection and failed after it: already accounted for.
    if (this.until !== 0) return;
    const n = this.recent.length;
    this.recent[this.next] = now;
    this.next = (this.next + 1) % n;
    // The ring holds the last n failure times; the oldest of them is now at `next`.
    const oldest = this.recent[this.next]!;
    if (now - oldest <= this.policy.windowMs) {
      this.eject(kind, now, n, `${n} failures within ${this.policy.windowMs} ms`);
    }
  }

  /** The probe answered: the plugin is back in service, with a fresh failure window. */
  probeSucceeded(now: number): void {
    this.probing = false;
    if (this.until === 0) return;
    this.until = 0;
    this.returnedAt = now;
    this.recent.fill(-Infinity);
    this.next = 0;
    this.log?.info({ plugin: this.plugin, ejections: this.total }, `plugin ${this.plugin} is back in service: its probe call succeeded`);
  }

  /** The probe ended without the guest answering either way (pool timeout, client gone): the next call probes. */
  probeAbandoned(): void {
    this.probing = false;
  }

  state(): EjectionState {
    return { ejected: this.until !== 0, until: this.until === 0 ? null : this.until, ejections: this.total };
  }

  private eject(kind: FailureKind, now: number, failures: number, why: string): void {
    const { baseMs, maxMs } = this.policy;
    if (this.total > 0 && this.until === 0 && now - this.returnedAt > maxMs) this.streak = 0;
    const backoffMs = Math.min(maxMs, baseMs * 2 ** Math.min(this.streak, 30));
    this.streak++;
    this.total++;
    this.until = now + backoffMs;
    this.log?.warn(
      { plugin: this.plugin, failures, kind, backoffMs, until: new Date(this.until).toISOString(), ejections: this.total },
      `plugin ${this.plugin} ejected for ${backoffMs} ms: ${why} (last: ${kind})`,
    );
  }
}
