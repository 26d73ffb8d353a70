/** Runs one autocannon load in its own process (so the load does not share the gateway's event loop). */
import { createRequire } from 'node:module';

interface Histogram { average: number; p50: number; p99: number; total: number }
interface AutocannonResult { requests: Histogram; latency: Histogram; non2xx: number; errors: number; timeouts: number }
type Autocannon = (opts: Record<string, unknown>, cb: (err: unknown, r: AutocannonResult) => void) => unknown;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface Job { url: string; connections: number; durationS: number; method: string; body?: string; headers: Record<string, string> }

process.once('message', (job: Job) => {
  autocannon({
    url: job.url, connections: job.connections, duration: job.durationS, method: job.method,
    headers: job.headers, ...(job.body !== undefined ? { body: job.body } : {}),
  }, (err, r) => {
    if (err) { process.send!({ error: String(err) }); return; }
    process.send!({
      rps: r.requests.average, p50_ms: r.latency.p50, p99_ms: r.latency.p99, mean_ms: r.latency.average,
      non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, total: r.requests.total,
    });
  });
});
