/**
 * The soak judges memory by what the gateway holds: resident memory after a last-resort GC
 * (scripts/soak/memory.ts). Instance churn that holds nothing must leave that flat, even where an
 * ordinary full GC leaves V8's free pages resident (the "native-memory creep" the soak used to
 * report), and instances that are held must show in it (the measure is not blind).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../scripts/soak/gateway-child.ts';
import { retained } from '../../scripts/soak/memory.ts';
import type { MemoryPoint } from './memory-child.ts';

const CHILD = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
const MiB = 2 ** 20;

/** The workload in a fresh process with the soak gateway's flags (`--expose-gc`, a fixed 64 MiB semi-space). */
async function measure(...args: string[]): Promise<{ before: MemoryPoint; after: MemoryPoint; kept: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64', CHILD, ...args,
  ], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as { before: MemoryPoint; after: MemoryPoint; kept: number };
}

/** Growth of the soak's measure between two points, in MiB. */
const growth = (r: { before: MemoryPoint; after: MemoryPoint }): number =>
  (retained(r.after as unknown as Sample) - retained(r.before as unknown as Sample)) / MiB;

describe('the soak memory measure', () => {
  it('stays flat over instances that trap and are replaced', async () => {
    // After an ordinary full GC the resident set (less the young generation) grew ~26 MiB here:
    // pages V8 keeps for reuse. The last-resort GC gives them back; none of it is held.
    const r = await measure('cycles', '3000');
    expect(growth(r)).toBeLessThan(10);
  }, 60_000);

  it('sees instances that are held', async () => {
    const r = await measure('held', '1500');
    expect(r.kept).toBe(1500);
    // Each kept instance holds its linear memory's touched pages and its wrappers: ~40 MiB here.
    expect(growth(r)).toBeGreaterThan(25);
  }, 60_000);
});
