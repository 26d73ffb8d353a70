/**
 * `npm run fuzz`: seeded mutations of the built filter components (component level and core-module
 * level), each loaded, instantiated, configured and called once in a watched child process.
 * Fails on any outcome other than a typed refusal, a hang, a crash, or resident memory past the bound.
 * Env: FUZZ_CASES (300), FUZZ_SEED (random; printed), FUZZ_CASE (replay one case index),
 * FUZZ_CASE_TIMEOUT_MS (30000), FUZZ_RSS_LIMIT_MB (1536: the child is stopped past it),
 * FUZZ_RSS_GROWTH_MB (512: what one case may add to the child's memory at rest), FUZZ_TARGETS (labels).
 */
import { type CaseReport } from './fuzz/run-case.ts';
import { defaultTargets, runFuzz } from './fuzz/supervisor.ts';

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
}

const MiB = 2 ** 20;
const seed = envInt('FUZZ_SEED', Math.floor(Math.random() * 2 ** 31));
const cases = envInt('FUZZ_CASES', 300);
const replay = process.env.FUZZ_CASE;
const rssLimitBytes = envInt('FUZZ_RSS_LIMIT_MB', 1536) * MiB;
const rssGrowthLimitBytes = envInt('FUZZ_RSS_GROWTH_MB', 512) * MiB;
const wanted = process.env.FUZZ_TARGETS?.split(',').map((s) => s.trim());
const targets = defaultTargets().filter((t) => !wanted || wanted.includes(t.label));
if (!targets.length) {
  console.error(`FUZZ_TARGETS names no known target (known: ${defaultTargets().map((t) => t.label).join(', ')})`);
  process.exit(2);
}
const indexes = replay !== undefined ? [envInt('FUZZ_CASE', 0)] : Array.from({ length: cases }, (_, i) => i);
const replayHint = (r: CaseReport): string => `FUZZ_SEED=${seed} FUZZ_CASE=${r.index}${wanted ? ` FUZZ_TARGETS=${wanted.join(',')}` : ''} npm run fuzz`;

console.log(`fuzz: seed ${seed}, ${indexes.length} case(s) over ${targets.map((t) => t.label).join(', ')}`);
const t0 = performance.now();
const summary = await runFuzz({
  seed, indexes, targets, rssLimitBytes, rssGrowthLimitBytes,
  caseTimeoutMs: envInt('FUZZ_CASE_TIMEOUT_MS', 30_000),
  onCase: (r, finding) => {
    if (finding) {
      console.log(`  FINDING (${finding}) case ${r.index} [${r.target}] ${r.what}: ${r.outcome} (${r.ms} ms, peak RSS ${Math.round(r.peakRss / MiB)} MiB, at rest ${Math.round((r.baseRss ?? 0) / MiB)} MiB)${r.detail ? `\n    ${r.detail}` : ''}\n    replay: ${replayHint(r)}`);
    } else if (replay !== undefined) {
      console.log(`  case ${r.index} [${r.target}] ${r.what}: ${r.outcome} (${r.ms} ms, peak RSS ${Math.round(r.peakRss / MiB)} MiB)`);
    }
    const done = r.index + 1;
    if (replay === undefined && done % 25 === 0) console.log(`  ${done}/${indexes.length} cases, ${Math.round((performance.now() - t0) / 1000)} s`);
  },
});

console.log('\noutcomes');
for (const [k, n] of Object.entries(summary.byOutcome).sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(40)} ${n}`);
const s = summary.slowest;
if (s) console.log(`slowest: case ${s.index} [${s.target}] ${s.what}: ${s.outcome}, ${s.ms} ms`);
const top = summary.reports.reduce<CaseReport | undefined>((a, r) => (!a || r.peakRss > a.peakRss ? r : a), undefined);
console.log(`max RSS: ${Math.round(summary.maxRss / MiB)} MiB (bounds: ${Math.round(rssLimitBytes / MiB)} MiB, ${Math.round(rssGrowthLimitBytes / MiB)} MiB over the child at rest)${top ? `, case ${top.index} [${top.target}] ${top.what}` : ''}`);
console.log(`total: ${Math.round((performance.now() - t0) / 1000)} s, seed ${seed}`);
if (summary.findings.length) {
  console.log(`\n${summary.findings.length} finding(s); replay each with:`);
  for (const r of summary.findings) console.log(`  ${replayHint(r)}    # ${r.outcome}: [${r.target}] ${r.what}`);
  process.exit(1);
}
console.log('no findings');
