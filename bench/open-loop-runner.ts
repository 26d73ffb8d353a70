/**
 * Open-loop (fixed-rate) load in its own process: request i is due at start + i / rate whatever
 * happened to earlier ones, and its latency runs from that scheduled time, so a stalled server is
 * charged for the requests it held up (no coordinated omission). Requests go out on an undici Pool;
 * one that finds every connection busy waits in the pool's queue, and that wait is counted too.
 * Timers fire about every millisecond, so a request may leave up to ~1 ms after its due time.
 */
import { Pool } from 'undici';

interface Job { url: string; rate: number; durationS: number; connections: number; method: 'GET' | 'POST'; body?: string; headers: Record<string, string> }

function percentile(sorted: Float64Array, q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]! : Number.NaN;
}

process.once('message', (job: Job) => {
  const u = new URL(job.url);
  const pool = new Pool(u.origin, { connections: job.connections });
  const total = Math.round(job.rate * job.durationS);
  const latencies = new Float64Array(total); // 0 until answered
  // How late each request left against its schedule: this process's own lag (a starved machine),
  // already inside the latency, reported apart so a reader can tell it from the server's.
  const sendLags = new Float64Array(total);
  const intervalMs = 1000 / job.rate;
  let sent = 0;
  let done = 0;
  let errors = 0;
  let non2xx = 0;
  let inWindow = 0; // answers that came back within the scheduled duration: the rate sustained
  const start = performance.now();
  const windowEnd = start + job.durationS * 1000;

  const fire = (i: number): void => {
    const due = start + i * intervalMs;
    sendLags[i] = performance.now() - due;
    pool.request({ path: u.pathname + u.search, method: job.method, headers: job.headers, body: job.body ?? null })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
        const now = performance.now();
        latencies[i] = now - due;
        if (now <= windowEnd) inWindow++;
      }, () => { errors++; latencies[i] = Number.POSITIVE_INFINITY; })
      .finally(() => { if (++done === total) finish(); });
  };
  const tick = (): void => {
    const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
    while (sent < due) fire(sent++);
    if (sent < total) setTimeout(tick, 1);
  };
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    const sorted = latencies.slice().sort();
    process.send!({
      rate: job.rate, achieved_rps: inWindow / job.durationS, total: done, errors, non2xx,
      p50_ms: percentile(sorted, 0.5), p99_ms: percentile(sorted, 0.99), max_ms: sorted[sorted.length - 1] ?? Number.NaN,
      send_lag_p99_ms: percentile(sendLags.slice().sort(), 0.99),
    });
    void pool.close();
  };
  // A request still unanswered long after the run counts as failed (latency infinite), not as a hang.
  setTimeout(() => {
    for (let i = 0; i < total; i++) if (latencies[i] === 0) latencies[i] = Number.POSITIVE_INFINITY;
    errors += total - done;
    finish();
  }, (job.durationS + 15) * 1000).unref();
  tick();
});
process.on('disconnect', () => process.exit(0));
