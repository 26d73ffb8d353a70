/** Pool costs: warm acquire+release, cold instantiate (+configure), memory per idle instance. */
import { loadComponent } from '../runtime/component/loader.ts';
import type { FilterInstance } from '../runtime/component/types.ts';
import { PluginPool } from '../runtime/pool/plugin-pool.ts';
import { noopHost } from './hook.ts';
import { type Scenario, summarize } from './stats.ts';

export async function benchPool(path: string, config: string, iterations: number): Promise<Record<string, Scenario>> {
  const loaded = await loadComponent(path, { binding: 'fast' });
  const pool = await PluginPool.create('bench', loaded.factory, config, { min: 1, max: 4, acquireTimeoutMs: 1000 }, noopHost);
  const warm: number[] = [];
  for (let i = 0; i < iterations + 1000; i++) {
    const t = performance.now();
    const inst = await pool.acquire();
    await pool.release(inst, undefined);
    if (i >= 1000) warm.push((performance.now() - t) * 1000);
  }
  await pool.close();
  const cold: number[] = [];
  const n = Math.max(20, Math.floor(iterations / 50));
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const inst = await loaded.factory.instantiate();
    await inst.configure(noopHost, config);
    cold.push((performance.now() - t) * 1000);
  }
  // Memory per idle instance: linear memory (what the guest holds) and the process's growth.
  const idle: FilterInstance[] = [];
  globalThis.gc?.();
  const before = process.memoryUsage();
  const K = 100;
  for (let i = 0; i < K; i++) {
    const inst = await loaded.factory.instantiate();
    await inst.configure(noopHost, config);
    idle.push(inst);
  }
  globalThis.gc?.();
  const after = process.memoryUsage();
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  return {
    'pool/warm-acquire-release': summarize(warm, 1e6 / (sum(warm) / warm.length)),
    'pool/cold-instantiate-configure': summarize(cold, 1e6 / (sum(cold) / cold.length)),
    'pool/idle-instance-memory': {
      p50_us: 0, p99_us: 0, ops_per_s: 0,
      linear_memory_bytes: idle[0]!.memoryBytes(),
      rss_delta_bytes_per_instance: Math.round((after.rss - before.rss) / K),
      external_delta_bytes_per_instance: Math.round((after.external + after.arrayBuffers - before.external - before.arrayBuffers) / K),
    },
  };
}
