/**
 * Preloaded (`--import`) into a benchmarked server: answers `{ probe: true }` over IPC with the
 * process's own CPU time and the bytes it has allocated on the JS heap so far. Allocation is
 * counted from V8's GC profiler (what each collection freed) plus the heap's growth, so it is a
 * per-request figure that the machine's load barely moves, unlike wall or CPU time.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { GCProfiler, getHeapStatistics } from 'node:v8';

const profiler = new GCProfiler();
profiler.start();
let freed = 0;

function allocated(): number {
  // stop() hands back the collections since start(); restarting keeps the count running.
  const { statistics } = profiler.stop();
  profiler.start();
  for (const gc of statistics) {
    const before = gc.beforeGC.heapStatistics.usedHeapSize;
    const after = gc.afterGC.heapStatistics.usedHeapSize;
    if (before > after) freed += before - after;
  }
  return freed + getHeapStatistics().used_heap_size;
}

/**
 * `{ sample: 'start' }` / `{ sample: '<file>' }`: V8's sampling heap profiler, counting objects
 * the GC has already collected too (what a request allocates is almost all short-lived).
 */
let session: Session | undefined;
async function sample(what: string): Promise<void> {
  if (what === 'start') {
    session = new Session();
    session.connect();
    await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  } else if (session) {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(what, JSON.stringify(profile));
    session.disconnect();
    session = undefined;
  }
  process.send!({ sampled: what });
}

process.on('message', (m) => {
  const what = (m as { sample?: string } | null)?.sample;
  if (what !== undefined) return void sample(what);
  if ((m as { probe?: boolean } | null)?.probe !== true) return;
  const cpu = process.cpuUsage();
  process.send!({ probe: { cpuUs: cpu.user + cpu.system, allocatedBytes: allocated() } });
});
