/**
 * Isolation: a filterless route's throughput and p99 under closed-loop load alone, then beside
 * another route whose plugin spins, traps, or behaves (the control), on the same gateway. The side load is a fixed
 * offered rate in every phase: HOSTILE_CONNECTIONS connections, one request per
 * HOSTILE_INTERVAL_MS each (20 x one per 100 ms = 200/s, what 20 concurrent 100 ms spins
 * amount to), open-loop (open-loop-runner.ts), at most HOSTILE_CONNECTIONS in flight. Paced, the
 * phases differ only in what the plugin does with the same requests; unpaced, an ejected plugin
 * answers 503 in microseconds and its closed-loop clients take the event loop by sheer volume,
 * which measures load, not isolation. Each phase gets a fresh gateway (so outlier ejection
 * starts from nothing) and its own alone baseline; the load generators run in their own processes, the gateway in this one.
 * Target: >= 0.8x throughput and p99 <= 2x of alone, beside each.
 */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { GatewayConfig } from '../runtime/config/types.ts';
import { startGateway } from '../runtime/gateway/gateway.ts';
import { openLoad } from './latency.ts';
import { closedLoad, type LoadResult } from './load.ts';
import { startUpstream } from './servers/launch.ts';
import type { Scenario } from './stats.ts';

const TESTKIT = fileURLToPath(new URL('../test/fixtures/testkit/dist/testkit.wasm', import.meta.url));
export const HOSTILE_CONNECTIONS = 20;
export const HOSTILE_INTERVAL_MS = 100;
const HOSTILE_RATE = HOSTILE_CONNECTIONS * (1000 / HOSTILE_INTERVAL_MS);
/** The side load starts this long before the measured one (the first failures and the ejection happen in it). */
const HEAD_START_MS = 500;

/** The phases beside another route: its path and the header that makes its plugin misbehave. */
export const SIDE_PHASES = {
  benign: { path: '/benign/x', header: 'x-benign' },
  spin: { path: '/spin/x', header: 'x-spin' },
  trap: { path: '/trap/x', header: 'x-trap' },
} as const;

function config(upstream: string): GatewayConfig {
  const route = (name: string, filters: string[]) => ({ name, match: { pathPrefix: `/${name}` }, upstream: 'main', filters });
  return {
    listen: { host: '127.0.0.1', port: 0 },
    plugins: {
      spin: { path: TESTKIT, config: { name: 'spin', spinIfHeader: 'x-spin' } },
      trap: { path: TESTKIT, config: { name: 'trap', trapIfHeader: 'x-trap' } },
      // The same testkit filter, asked nothing hostile: what the paced side load costs by itself.
      benign: { path: TESTKIT, config: { name: 'benign', spinIfHeader: 'x-spin' } },
    },
    upstreams: { main: { endpoints: [upstream] } },
    routes: [route('plain', []), route('spin', ['spin']), route('trap', ['trap']), route('benign', ['benign'])],
    log: { level: 'silent' },
  };
}

function scenario(r: LoadResult, extra: Record<string, number | string> = {}): Scenario {
  return { p50_us: Math.round(r.p50_ms * 1000), p99_us: Math.round(r.p99_ms * 1000), ops_per_s: Math.round(r.rps), total: r.total, non2xx: r.non2xx, errors: r.errors, ...extra };
}

export async function benchIsolation(opts: { durationS: number; connections: number }): Promise<Record<string, Scenario>> {
  const up = await startUpstream();
  const out: Record<string, Scenario> = {};
  try {
    // One gateway per side phase: its own alone baseline right before the side load starts, so
    // the ratio compares two measurements seconds apart on the same gateway (a shared machine's
    // load moves more than that between phases).
    const phase = async (name: string, side: { path: string; header: string }): Promise<void> => {
      const gw = await startGateway(config(up.url), { logger: pino({ level: 'silent' }) });
      try {
        const plain = (durationS: number) => closedLoad({ url: `${gw.url}/plain/x`, connections: opts.connections, durationS, method: 'GET', headers: {} });
        await plain(1); // warm-up
        out[`isolation/plain-alone-before-${name}`] = scenario(await plain(opts.durationS));
        // The side load starts first and outlasts the measured one, so the whole measurement runs beside it.
        const hostile = openLoad({ url: `${gw.url}${side.path}`, connections: HOSTILE_CONNECTIONS, durationS: opts.durationS + 2, method: 'GET', headers: { [side.header]: '1' } }, HOSTILE_RATE, HOSTILE_CONNECTIONS);
        await new Promise((r) => setTimeout(r, HEAD_START_MS));
        const measured = await plain(opts.durationS);
        const h = await hostile;
        out[`isolation/plain-beside-${name}`] = scenario(measured, {
          side_rate_per_s: h.rate, side_achieved_per_s: Math.round(h.achieved_rps), side_non2xx: h.non2xx, side_errors: h.errors,
          side_p99_us: Number.isFinite(h.p99_ms) ? Math.round(h.p99_ms * 1000) : 'inf',
        });
      } finally {
        await gw.close();
      }
    };
    for (const [name, side] of Object.entries(SIDE_PHASES)) await phase(name, side);
  } finally {
    up.stop();
  }
  return out;
}
