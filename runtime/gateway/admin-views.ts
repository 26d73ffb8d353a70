/** What one gateway's admin endpoints report: its readiness and its loaded plugins. */
import type { BodyMode } from '../component/types.ts';
import type { EjectionState } from '../pool/ejection.ts';
import type { PoolStats } from '../pool/plugin-pool.ts';
import type { Readiness } from './admin.ts';
import type { LoadedPlugin } from './plugins.ts';

export interface PluginView {
  name: string;
  path: string;
  sha256: string;
  bytes: number;
  binding: 'fast' | 'jco';
  failure: 'open' | 'closed';
  hooks: { requestHeaders: boolean; responseHeaders: boolean; requestBody: string; responseBody: string };
  pool: Omit<PoolStats, 'plugin' | 'ejection'>;
  ejection: EjectionState;
}

function bodyMode(mode: BodyMode): string {
  return mode.tag === 'stream-buffer' ? `stream-buffer(${mode.maxBytes})` : mode.tag;
}

export function pluginView(p: LoadedPlugin): PluginView {
  const { plugin: _, ejection, ...pool } = p.pool.stats();
  return {
    name: p.name,
    ...p.origin,
    failure: p.failure,
    hooks: { ...p.info.headerHooks, requestBody: bodyMode(p.info.requestBody), responseBody: bodyMode(p.info.responseBody) },
    pool,
    ejection,
  };
}

/**
 * starting -> ready -> draining. "Ready" needs the listener up and every pool holding its `min`
 * instances; that is checked when asked, and once true it stays true (a pool that loses an
 * instance to a trap refills on its own; flapping readiness would pull a healthy pod).
 */
export class GatewayReadiness {
  private phase: 'loading' | 'listening' | 'ready' | 'draining' = 'loading';
  private readonly plugins: () => Iterable<LoadedPlugin>;

  constructor(plugins: () => Iterable<LoadedPlugin>) {
    this.plugins = plugins;
  }

  listening(): void {
    if (this.phase === 'loading') this.phase = 'listening';
  }

  draining(): void {
    this.phase = 'draining';
  }

  private cold(): string[] {
    const out: string[] = [];
    for (const p of this.plugins()) {
      const s = p.pool.stats();
      // Made and configured: generic-pool's `size` also counts instances still being created.
      const made = s.available + s.borrowed;
      if (made < s.min) out.push(`${p.name} ${made}/${s.min}`);
    }
    return out;
  }

  check(): Readiness {
    switch (this.phase) {
      case 'loading': return { ready: false, state: 'starting: loading plugins' };
      case 'draining': return { ready: false, state: 'draining: finishing in-flight requests' };
      case 'ready': return { ready: true, state: 'ready' };
      case 'listening': {
        const cold = this.cold();
        if (cold.length) return { ready: false, state: `starting: warming pools (${cold.join(', ')})` };
        this.phase = 'ready';
        return { ready: true, state: 'ready' };
      }
    }
  }
}
