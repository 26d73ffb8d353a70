/**
 * Passive health checking of upstream endpoints, after Envoy's outlier detection: consecutive
 * failed attempts (connect failure, timeout, retriable status) eject an endpoint for a back-off
 * that doubles with each ejection in a row (base, 2x base, ... up to max). When the back-off has
 * passed, one attempt is let through as a probe: its success puts the endpoint back in service
 * (and forgets the ejections), its failure ejects it again for the next, longer back-off. Nothing
 * is sent just to check: only real attempts count.
 */
import type { OutlierDetectionConfig } from '../config/types.ts';

export const OUTLIER_DEFAULTS = { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000 } as const;

interface State {
  failures: number;
  /** Ejections in a row; the next back-off is base * 2^(ejections - 1). */
  ejections: number;
  /** Ejected until this time (ms since the epoch); 0 while in service. */
  until: number;
  /** When the probe in flight was let through; 0 when none is. */
  probeSince: number;
}

export interface HealthEvent {
  endpoint: string;
  ejected: boolean;
  backoffMs?: number;
}

export class EndpointHealth {
  private readonly states = new Map<string, State>();
  private readonly enabled: boolean;
  private readonly threshold: number;
  private readonly baseMs: number;
  private readonly maxMs: number;

  private readonly onEject: ((e: HealthEvent) => void) | undefined;

  constructor(config: OutlierDetectionConfig = {}, onEject?: (e: HealthEvent) => void) {
    this.onEject = onEject;
    this.enabled = config.enabled ?? true;
    this.threshold = config.consecutiveFailures ?? OUTLIER_DEFAULTS.consecutiveFailures;
    this.baseMs = config.baseEjectionMs ?? OUTLIER_DEFAULTS.baseEjectionMs;
    this.maxMs = Math.max(this.baseMs, config.maxEjectionMs ?? OUTLIER_DEFAULTS.maxEjectionMs);
  }

  /** Whether the endpoint may take an attempt now: never ejected, or past its back-off with no probe in flight. */
  inService(endpoint: string, now: number): boolean {
    const s = this.states.get(endpoint);
    if (!s || s.until === 0) return true;
    if (now < s.until) return false;
    // A probe whose outcome never came (the client left, a filter rejected) is given up after one base back-off.
    return s.probeSince === 0 || now - s.probeSince > this.baseMs;
  }

  /** Claims the endpoint for one attempt; past a back-off that attempt is the probe. */
  admit(endpoint: string, now: number): boolean {
    if (!this.inService(endpoint, now)) return false;
    const s = this.states.get(endpoint);
    if (s && s.until !== 0) s.probeSince = now;
    return true;
  }

  /** True while the endpoint is ejected (its back-off not yet passed). */
  ejected(endpoint: string, now: number): boolean {
    const s = this.states.get(endpoint);
    return s !== undefined && now < s.until;
  }

  success(endpoint: string): void {
    if (this.states.has(endpoint)) this.states.delete(endpoint);
  }

  failure(endpoint: string, now: number): void {
    if (!this.enabled) return;
    let s = this.states.get(endpoint);
    if (!s) this.states.set(endpoint, (s = { failures: 0, ejections: 0, until: 0, probeSince: 0 }));
    s.failures++;
    const probeFailed = s.until !== 0 && now >= s.until;
    if (now < s.until) return; // already ejected: an attempt in panic mode, or one started before the ejection
    if (!probeFailed && s.failures < this.threshold) return;
    s.ejections++;
    const backoffMs = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(s.ejections - 1, 30));
    s.until = now + backoffMs;
    s.probeSince = 0;
    s.failures = 0;
    this.onEject?.({ endpoint, ejected: true, backoffMs });
  }
}
