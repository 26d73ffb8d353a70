/**
 * Added latency of the sub-request bridge: a direct undici request (same Agent settings) vs
 * `bridge.send` to the same loopback server, sequentially, after warm-up.
 * Run directly: `node bench/subrequest.ts [iterations]`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Agent } from 'undici';
import { SubrequestBridge } from '../runtime/subrequest/bridge.ts';
import { startTrace } from '../runtime/subrequest/identity.ts';
import { agentOptions, DEFAULT_OPTIONS, type ParentRequest } from '../runtime/subrequest/options.ts';

export interface LatencySummary {
  p50_us: number;
  p99_us: number;
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? 0;
}

function summarise(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50_us: Math.round(percentile(sorted, 50) * 10) / 10, p99_us: Math.round(percentile(sorted, 99) * 10) / 10 };
}

const nowUs = (): number => Number(process.hrtime.bigint()) / 1000;

export async function benchSubrequest(opts: { iterations: number }): Promise<{ direct: LatencySummary; bridge: LatencySummary }> {
  const payload = Buffer.from('{"ok":true}');
  const server = createServer((req, res) => {
    req.resume();
    res.setHeader('content-type', 'application/json');
    res.end(payload);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  // The log line is part of the bridge's cost: keep it, but send it to a sink that drops it.
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const bridge = new SubrequestBridge({ logger: pino({ level: process.env.BENCH_LOG ?? 'info' }, sink) });
  const direct = new Agent(agentOptions(DEFAULT_OPTIONS));
  const controller = new AbortController();
  const policy = { plugin: 'bench', allowedHosts: [`127.0.0.1:${port}`], maxInFlight: 16 };
  const traceparent = startTrace();
  const parent = (): ParentRequest => ({
    requestId: 'bench',
    attempt: 1,
    traceparent,
    depth: 0,
    deadline: Date.now() + 60_000,
    signal: controller.signal,
    record: () => {},
  });

  const runDirect = async (): Promise<void> => {
    const res = await direct.request({ origin, path: '/x', method: 'GET', headers: ['x-request-id', 'bench'] });
    await res.body.arrayBuffer();
  };
  const runBridge = async (): Promise<void> => {
    const r = await bridge.send(parent(), policy, { method: 'GET', url: `${origin}/x`, headers: [['x-request-id', 'bench']] });
    if (!r.ok) throw new Error(`bridge.send failed: ${JSON.stringify(r.error)}`);
  };

  try {
    const warmup = Math.max(50, Math.min(1000, Math.floor(opts.iterations / 5)));
    for (let i = 0; i < warmup; i++) {
      await runDirect();
      await runBridge();
    }
    const d: number[] = [];
    const b: number[] = [];
    // Interleave so both see the same machine state.
    for (let i = 0; i < opts.iterations; i++) {
      let t = nowUs();
      await runDirect();
      d.push(nowUs() - t);
      t = nowUs();
      await runBridge();
      b.push(nowUs() - t);
    }
    return { direct: summarise(d), bridge: summarise(b) };
  } finally {
    await bridge.close();
    await direct.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

if (import.meta.main) {
  const iterations = Number(process.argv[2] ?? '5000');
  const r = await benchSubrequest({ iterations });
  console.log(JSON.stringify({ iterations, ...r, added_p50_us: Math.round((r.bridge.p50_us - r.direct.p50_us) * 10) / 10 }));
}
