/**
 * `npm run soak`: the gateway (in a child process, so its memory and descriptors are its own)
 * under steady loopback load for SOAK_SECONDS (default 600): checked well-behaved routes beside
 * hostile plugins, faulty upstreams and clients that leave mid-response. Exits non-zero when a
 * checked request is not answered exactly once with its body, when anything is still held once
 * the load stops, or when retained memory grows more than 5% after warm-up (soak/memory.ts).
 * Env: SOAK_SECONDS (600), SOAK_SAMPLE_MS (2000 or SOAK_SECONDS/60 s, whichever is longer),
 * SOAK_TRAFFIC (comma list of traffic-kind prefixes, e.g. `checked,leaves/stalled-upstream`: to narrow down a finding),
 * SOAK_SEMI_SPACE_MB (64: the gateway's fixed young generation, per semi-space), SOAK_RSS_TOLERANCE_PCT (5).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { soakConfig } from './soak/config.ts';
import type { FromChild, Sample, ToChild } from './soak/gateway-child.ts';
import { runTraffic, soakTraffic } from './soak/load.ts';
import { startUpstreams } from './soak/upstreams.ts';
import { mib, retained, retainedTrend, SETTLE, warmUp } from './soak/memory.ts';
import { atRest, fdDelta, verdict } from './soak/verdict.ts';

const seconds = Number(process.env.SOAK_SECONDS ?? 600);
// Memory must settle within the first two thirds (15 s at least, then a settled 10 s window),
// leaving enough samples to compare the first quarter of the rest with the last.
if (!Number.isFinite(seconds) || seconds < 40) {
  console.error(`SOAK_SECONDS must be a number of seconds >= 40, got ${JSON.stringify(process.env.SOAK_SECONDS)}`);
  process.exit(2);
}
const sampleMs = Math.max(Number(process.env.SOAK_SAMPLE_MS ?? 0) || 0, 2000, Math.floor((seconds * 1000) / 60));
// Memory must have settled by two thirds of the run (see soak/memory.ts); the rest is judged for growth.
const settleDeadlineMs = Math.round((seconds * 1000 * 2) / 3);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * --expose-gc: each sample follows a full GC, so it shows what is held, not garbage. The young
 * generation is fixed at SOAK_SEMI_SPACE_MB per semi-space (V8 otherwise doubles it under
 * allocation pressure, 16 -> 128 MiB, whenever the load and the machine make it: a step in RSS
 * that is sized garbage space, not memory held, and came late on a loaded machine).
 */
const semiSpaceMb = Number(process.env.SOAK_SEMI_SPACE_MB ?? 64);
if (!Number.isInteger(semiSpaceMb) || semiSpaceMb < 1) {
  console.error(`SOAK_SEMI_SPACE_MB must be a whole number of MiB >= 1, got ${JSON.stringify(process.env.SOAK_SEMI_SPACE_MB)}`);
  process.exit(2);
}
const CHILD_FLAGS = ['--expose-gc', `--min-semi-space-size=${semiSpaceMb}`, `--max-semi-space-size=${semiSpaceMb}`];

function gatewayChild(): { proc: ChildProcess; ask: (m: ToChild) => Promise<FromChild> } {
  const proc = fork(fileURLToPath(new URL('./soak/gateway-child.ts', import.meta.url)), [], { execArgv: CHILD_FLAGS, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let queue = Promise.resolve<unknown>(undefined);
  const ask = (m: ToChild): Promise<FromChild> => {
    const next = queue.then(() => new Promise<FromChild>((resolve, reject) => {
      const onExit = (code: number | null, sig: string | null) => reject(new Error(`the gateway process ended (${sig ?? code})`));
      proc.once('exit', onExit);
      proc.once('message', (r: FromChild) => { proc.off('exit', onExit); resolve(r); });
      proc.send(m);
    }));
    queue = next.catch(() => {});
    return next;
  };
  return { proc, ask };
}

const up = await startUpstreams();
const { proc, ask } = gatewayChild();
const sample = async (): Promise<Sample> => {
  const r = await ask({ type: 'sample' });
  if (r.type !== 'sample') throw new Error(`expected a sample, got ${r.type}`);
  return r.sample;
};
const line = (t: number, s: Sample, sent: number): string =>
  `  t=${String(Math.round(t / 1000)).padStart(4)}s rss ${mib(s.rss)} MiB (young gen ${mib(s.youngGen)}; retained ${mib(retained(s))}) heap ${mib(s.heapUsed)} MiB (old gen ${mib(s.oldGen)}) ext ${mib(s.external)} MiB code ${mib(s.codeSpace)} fds ${s.fds} lent ${s.borrowed} queued ${s.pending} subreq ${s.subrequestsInFlight}${s.exchangesInFlight !== undefined ? ` exchanges ${s.exchangesInFlight}` : ''} forwarded ${sent}`;

let exitCode = 1;
try {
  const started = await ask({ type: 'start', config: await soakConfig(up) });
  if (started.type !== 'started') throw new Error(`the gateway did not start: ${started.type === 'failed' ? started.error : started.type}`);
  const start = await sample();
  console.log(`soak: ${seconds} s against ${started.url} (warm-up until memory settles, by ${settleDeadlineMs / 1000} s at most; a sample every ${sampleMs / 1000} s)`);
  console.log(`  upstreams: good ${up.good.url}, reset ${up.reset.url}, stall ${up.stall.url}, slow ${up.slow.url}`);
  console.log(line(0, start, 0));

  const t0 = Date.now();
  let stopping = false;
  const only = process.env.SOAK_TRAFFIC?.split(',').map((x) => x.trim());
  const kinds = soakTraffic(up.stall.url).filter((t) => !only || only.some((o) => t.name.startsWith(o)));
  const traffic = runTraffic(started.url, kinds, () => stopping);
  const underLoad: Sample[] = [];
  const sent = (): number => up.good.seen.size;
  while (Date.now() - t0 < seconds * 1000) {
    await sleep(Math.min(sampleMs, seconds * 1000 - (Date.now() - t0)));
    const s = await sample();
    underLoad.push(s);
    console.log(line(Date.now() - t0, s, sent()));
  }
  stopping = true;
  const stats = await traffic;

  // At rest: the last exchanges end (a stalled upstream within its route's deadline), then idle
  // keep-alive connections on both sides close, and nothing should be left.
  let final = await sample();
  for (let i = 0; i < 40 && (final.borrowed || final.subrequestsInFlight || final.exchangesInFlight); i++) {
    await sleep(250);
    final = await sample();
  }
  // Idle keep-alive connections close (from the upstream side at once, or by the gateway's own
  // idle timeouts); a connection still open 10 s later is held by something that never ended.
  for (let i = 0; i < 20; i++) {
    up.closeIdle();
    await sleep(500);
    final = await sample();
    if (atRest(start, final)) break;
  }
  console.log(`${line(Date.now() - t0, final, sent())} (at rest)`);

  console.log('\ntraffic');
  for (const [name, s] of stats) {
    const outcomes = Object.entries(s.outcomes).map(([k, n]) => `${k}:${n}`).join(' ');
    console.log(`  ${name.padEnd(26)} sent ${String(s.sent).padStart(6)}  ${outcomes}`);
  }
  const warm = warmUp(underLoad, t0, settleDeadlineMs);
  const trend = retainedTrend(warm.series);
  console.log(`\nRSS under load (MiB): ${underLoad.map((s) => mib(s.rss)).join(' ')}`);
  console.log(`retained (RSS after a last-resort GC) under load (MiB): ${underLoad.map((s) => mib(retained(s))).join(' ')}`);
  console.log(warm.settledMs !== undefined
    ? `memory settled at ${Math.round(warm.settledMs / 1000)} s (the ${SETTLE.windowMs / 1000} s before within ${(warm.spread * 100).toFixed(1)}%)`
    : `memory had not settled by ${settleDeadlineMs / 1000} s`);
  console.log(`retained after warm-up (MiB): ${warm.series.map((s) => mib(retained(s))).join(' ')}`);
  if (trend) console.log(`retained: first quarter ${mib(trend.early)} MiB, last quarter ${mib(trend.late)} MiB: ${(trend.growth * 100).toFixed(1)}%`);
  console.log(`descriptors: ${start.fds} before, ${final.fds} at rest after; resources after: ${JSON.stringify(final.resources)}`);
  console.log(`descriptors at rest beyond the start: ${JSON.stringify(fdDelta(start.fdKinds, final.fdKinds))}`);

  // Name the upstream at the far end of each leftover connection.
  const names = new Map(Object.entries({ good: up.good, reset: up.reset, stall: up.stall, slow: up.slow }).map(([n, u]) => [new URL(u.url).port, n]));
  const failures = verdict({ traffic: stats, forwarded: up.good.seen, start, warm, settleDeadlineMs, final })
    .map((f) => f.replace(/->(\d+)/g, (m, port: string) => (names.has(port) ? `->${names.get(port)} upstream` : m)));
  if (failures.length) {
    console.log(`\nSOAK FAILED (${failures.length}):`);
    for (const f of failures) console.log(`  - ${f}`);
  } else {
    console.log('\nsoak passed');
    exitCode = 0;
  }
} catch (err) {
  console.error(`soak aborted: ${(err as Error).stack ?? String(err)}`);
} finally {
  await Promise.race([ask({ type: 'close' }).catch(() => undefined), sleep(15_000)]);
  proc.kill();
  await up.closeAll();
}
process.exit(exitCode);
