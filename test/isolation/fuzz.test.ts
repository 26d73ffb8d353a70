/**
 * A CI-sized, seeded run of `npm run fuzz`: mutated builds of every bundled plugin and of the
 * testkit fixture are loaded, instantiated, configured and called once in a watched child
 * process. Any outcome but a typed refusal, a hang, a crash or a memory spike fails, naming the
 * case to replay (FUZZ_SEED=<seed> FUZZ_CASE=<index> npm run fuzz).
 */
import { describe, expect, it } from 'vitest';
import { mutantOf } from '../../scripts/fuzz/mutate.ts';
import { defaultTargets, runFuzz } from '../../scripts/fuzz/supervisor.ts';
import { readFileSync } from 'node:fs';

// Seed 7's first 200 cases include function bodies whose size field claims 0x3fffffff
// bytes: jco's componentWit once allocated ~1 GB for each before anything validated the module.
const SEED = Number(process.env.FUZZ_SEED ?? 7);
const CASES = Number(process.env.FUZZ_CASES ?? 200);
const MiB = 2 ** 20;

describe('fuzzed components', () => {
  it('a case is a pure function of (seed, index)', async () => {
    const targets = defaultTargets().map((t) => ({ label: t.label, bytes: new Uint8Array(readFileSync(t.path)) }));
    for (const index of [0, 1, 2, 3, 4, 5]) {
      const a = await mutantOf(SEED, index, targets).catch((e: Error) => e.message);
      const b = await mutantOf(SEED, index, targets).catch((e: Error) => e.message);
      expect(b).toEqual(a);
    }
  });

  it(`${CASES} seeded mutants end in a typed refusal or a normal answer, without hang, crash or memory spike`, async () => {
    const summary = await runFuzz({
      seed: SEED,
      indexes: Array.from({ length: CASES }, (_, i) => i),
      targets: defaultTargets(),
      caseTimeoutMs: 30_000,
      rssLimitBytes: 1536 * MiB,
      rssGrowthLimitBytes: 512 * MiB,
    });
    const findings = summary.findings.map((r) =>
      `FUZZ_SEED=${SEED} FUZZ_CASE=${r.index}: [${r.target}] ${r.what}: ${r.outcome}, peak RSS ${Math.round(r.peakRss / MiB)} MiB (at rest ${Math.round((r.baseRss ?? 0) / MiB)} MiB)${r.detail ? ` ${r.detail}` : ''}`);
    expect(findings).toEqual([]);
    // The run reached past the loader: some mutants were configured and called.
    expect(Object.keys(summary.byOutcome).some((k) => k.startsWith('ok:') || k.startsWith('trap:'))).toBe(true);
  }, 600_000);
});
