/**
 * What a reload may change and what it did change. Only the keys listed as reloadable are taken
 * from a new config: everything else is bound when the process starts (listeners and their
 * bounds, the admin port, the sub-request bridge, the logger, any key this module does not know),
 * so a change there is reported as "needs restart" and the running value is kept: never half-applied.
 */
import type { GatewayConfig } from '../config/types.ts';

/** Top-level keys a reload applies. `limits` is one, less the bridge's global cap (below). */
const RELOADABLE = new Set(['plugins', 'upstreams', 'routes', 'paths', 'limits']);
/** Read once by the sub-request bridge, which outlives reloads (its cap is gateway-wide). */
const BRIDGE_LIMIT = 'maxSubrequestsInFlight';

/** JSON text with object keys sorted, so two configs compare by content, not by key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  }) ?? 'undefined';
}

export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/**
 * The config a reload runs: `next` for the reloadable keys, `running` for the rest; and the keys
 * whose change was ignored because only a restart can apply it.
 */
export function effectiveConfig(running: GatewayConfig, next: GatewayConfig): { config: GatewayConfig; needsRestart: string[] } {
  const out: Record<string, unknown> = {};
  const needsRestart: string[] = [];
  const was = running as unknown as Record<string, unknown>;
  const now = next as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(was), ...Object.keys(now)])) {
    if (RELOADABLE.has(key)) {
      if (now[key] !== undefined) out[key] = now[key];
      continue;
    }
    if (was[key] !== undefined) out[key] = was[key];
    if (!sameJson(was[key], now[key])) needsRestart.push(key);
  }
  const limits = { ...next.limits };
  const cap = running.limits?.[BRIDGE_LIMIT];
  if (cap !== limits[BRIDGE_LIMIT]) {
    needsRestart.push(`limits.${BRIDGE_LIMIT}`);
    if (cap === undefined) delete limits[BRIDGE_LIMIT];
    else limits[BRIDGE_LIMIT] = cap;
  }
  if (next.limits !== undefined || cap !== undefined) out.limits = limits;
  return { config: out as unknown as GatewayConfig, needsRestart };
}

/** What one reload changed, for its log line. */
export interface ConfigChanges {
  pluginsAdded: string[];
  pluginsRemoved: string[];
  /** Reloaded: their file, their config or their settings differ. */
  pluginsChanged: string[];
  /** Carried over as they were: same file (by sha256), same settings, same pool. */
  pluginsKept: string[];
  routesChanged: string[];
  upstreamsChanged: string[];
}

function namedDiff<T>(a: Record<string, T>, b: Record<string, T>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !sameJson(a[k], b[k])).sort();
}

export function describeChanges(running: GatewayConfig, next: GatewayConfig, kept: ReadonlySet<string>): ConfigChanges {
  const before = running.plugins ?? {};
  const after = next.plugins ?? {};
  const routes = (c: GatewayConfig) => Object.fromEntries(c.routes.map((r) => [r.name, r]));
  return {
    pluginsAdded: Object.keys(after).filter((k) => !(k in before)).sort(),
    pluginsRemoved: Object.keys(before).filter((k) => !(k in after)).sort(),
    pluginsChanged: Object.keys(after).filter((k) => k in before && !kept.has(k)).sort(),
    pluginsKept: [...kept].sort(),
    routesChanged: namedDiff(routes(running), routes(next)),
    upstreamsChanged: namedDiff(running.upstreams, next.upstreams),
  };
}
