/**
 * `npm run soak`: the gateway (in a child process, so its memory and descriptors are its own)
 * under steady loopback load for SOAK_SECONDS (default 600): checked well-behaved routes beside
 * hostile plugins, faulty upstreams and clients that leave mid-response. Exits non-zero when a
 * checked request is not answered exactly once with its body, when anything is still held once
 * the load stops, or when resident memory grows more than 5% after warm-up.
 * Env: SOAK_SECONDS (600), SOAK_SAMPLE_MS (2000 or SOAK_SECONDS/60 s, whichever is longer),
 * SOAK_TRAFFIC (comma list of traffic-kind prefixes, e.g. `checked,leaves/stalled-upstream`: to narrow down a finding).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { soakConfig } from './soak/config.ts';
import type { FromChild, Sample, ToChild } from './soak/gateway-child.ts';
import { runTraffic, soakTraffic } from './soak/load.ts';
import { startUpstreams } from './soak/upstreams.ts';
import { FD_SLACK, fdDelta, mib, rssTrend, verdict } from './soak/verdict.ts';

const seconds = Number(process.env.SOAK_SECONDS ?? 600);
// 30 s of warm-up at least, then enough samples to compare the first quarter with the last.
if (!Number.isFinite(seconds) || seconds < 40) {
  console.error(`SOAK_SECONDS must be a number of seconds >= 40, got ${JSON.stringify(process.env.SOAK_SECONDS)}`);
  process.exit(2);
}
const sampleMs = Math.max(Number(process.env.SOAK_SAMPLE_MS ?? 0) || 0, 2000, Math.floor((seconds * 1000) / 60));
const warmupMs = Math.min(60_000, Math.max(30_000, seconds * 250));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function gatewayChild(): { proc: ChildProcess; ask: (m: ToChild) => Promise<FromChild> } {
  const proc = fork(fileURLToPath(new URL('./soak/gateway-child.ts', import.meta.url)), [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
  `  t=${String(Math.round(t / 1000)).padStart(4)}s rss ${mib(s.rss)} MiB heap ${mib(s.heapUsed)} MiB fds ${s.fds} lent ${s.borrowed} queued ${s.pending} subreq ${s.subrequestsInFlight}${s.exchangesInFlight !== undefined ? ` exchanges ${s.exchangesInFlight}` : ''} forwarded ${sent}`;

let exitCode = 1;
try {
  const started = await ask({ type: 'start', config: await soakConfig(up) });
  if (started.type !== 'started') throw new Error(`the gateway did not start: ${started.type === 'failed' ? started.error : started.type}`);
  const start = await sample();
  console.log(`soak: ${seconds} s against ${started.url} (warm-up ${warmupMs / 1000} s, a sample every ${sampleMs / 1000} s)`);
  console.log(`  upstreams: good ${up.good.url}, reset ${up.reset.url}, stall ${up.stall.url}, slow ${up.slow.url}`);
  console.log(line(0, start, 0));

  const t0 = Date.now();
  let stopping = false;
  const only = process.env.SOAK_TRAFFIC?.split(',').map((x) => x.trim());
  const kinds = soakTraffic(up.stall.url).filter((t) => !only || only.some((o) => t.name.startsWith(o)));
  const traffic = runTraffic(started.url, kinds, () => stopping);
  const series: Sample[] = [];
  const sent = (): number => up.good.seen.size;
  while (Date.now() - t0 < seconds * 1000) {
    await sleep(Math.min(sampleMs, seconds * 1000 - (Date.now() - t0)));
    const s = await sample();
    if (Date.now() - t0 > warmupMs) series.push(s);
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
    if (final.fds <= start.fds + FD_SLACK) break;
  }
  console.log(`${line(Date.now() - t0, final, sent())} (at rest)`);

  console.log('\ntraffic');
  for (const [name, s] of stats) {
    const outcomes = Object.entries(s.outcomes).map(([k, n]) => `${k}:${n}`).join(' ');
    console.log(`  ${name.padEnd(26)} sent ${String(s.sent).padStart(6)}  ${outcomes}`);
  }
  const trend = rssTrend(series);
  console.log(`\nRSS after warm-up (MiB): ${series.map((s) => mib(s.rss)).join(' ')}`);
  if (trend) console.log(`RSS first quarter ${mib(trend.early)} MiB, last quarter ${mib(trend.late)} MiB: ${(trend.growth * 100).toFixed(1)}%`);
  console.log(`descriptors: ${start.fds} before, ${final.fds} at rest after; resources after: ${JSON.stringify(final.resources)}`);
  console.log(`descriptors at rest beyond the start: ${JSON.stringify(fdDelta(start.fdKinds, final.fdKinds))}`);

  // Name the upstream at the far end of each leftover connection.
  const names = new Map(Object.entries({ good: up.good, reset: up.reset, stall: up.stall, slow: up.slow }).map(([n, u]) => [new URL(u.url).port, n]));
  const failures = verdict({ traffic: stats, forwarded: up.good.seen, start, series, final })
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
