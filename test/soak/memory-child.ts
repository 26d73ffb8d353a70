/**
 * Run by memory-measure.test.ts under `node --expose-gc` with the soak's fixed young generation:
 * measures the soak's memory sample (resident memory after a full GC, the young generation
 * committed, resident memory after a last-resort GC) before and after a workload, and prints
 * them as JSON. Workloads: `cycles` (filter instances that trap and are replaced, none kept, as
 * the soak's hostile plugins make them) and `held` (the same, every instance kept).
 */
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';
import { loadComponent } from '../../runtime/component/loader.ts';
import type { HostCalls, RequestHead, RequestInfo } from '../../runtime/component/types.ts';
import { releasedRss } from '../../scripts/soak/released-rss.ts';

export interface MemoryPoint { rss: number; youngGen: number; rssReleased: number }

const gc = (globalThis as { gc?: () => void }).gc!;

function point(): MemoryPoint {
  gc();
  const rss = process.memoryUsage().rss;
  const youngGen = v8.getHeapSpaceStatistics()
    .filter((x) => x.space_name === 'new_space' || x.space_name === 'new_large_object_space')
    .reduce((n, x) => n + x.space_size, 0);
  return { rss, youngGen, rssReleased: releasedRss() };
}

const host = {
  httpSubrequest: () => Promise.resolve({ ok: false, error: { tag: 'timeout' } }),
  httpSubrequestAll: () => Promise.resolve([]),
  contextGet: () => undefined,
  contextSet: () => {},
  log: () => {},
} as unknown as HostCalls;
const info = { id: 'soak', attempt: 1, route: 'soak' } as unknown as RequestInfo;
const head = { method: 'GET', path: '/', headers: [['x-trap', '1']] } as unknown as RequestHead;

/** `n` instances, each configured, trapping in its request hook, then dropped (or kept, when `hold`). */
async function cycles(n: number, hold: boolean): Promise<unknown[]> {
  const kit = fileURLToPath(new URL('../fixtures/testkit/dist/testkit.wasm', import.meta.url));
  const { factory } = await loadComponent(kit, { cpuBudgetMs: 50 });
  const held: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const instance = await factory.instantiate();
    await instance.configure(host, JSON.stringify({ trapIfHeader: 'x-trap' }));
    await instance.onRequestHeaders(host, info, head).then(() => { throw new Error('the hook did not trap'); }, () => {});
    if (hold) held.push(instance);
  }
  return held;
}

const mode = process.argv[2];
// Warm up what any run keeps (compiled code, the module cache) before the first point.
await cycles(50, false);
const before = point();
const kept = await cycles(Number(process.argv[3] ?? 1500), mode === 'held');
const after = point();
process.stdout.write(JSON.stringify({ before, after, kept: kept.length }));
