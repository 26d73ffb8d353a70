/**
 * Isolation: a filterless route's throughput and p99 alone, then while another route's plugin
 * spins (and, separately, traps) under 20 concurrent requests. Each phase gets a fresh gateway
 * (so outlier ejection, where present, starts from nothing); the load generators run in their
 * own processes (load-runner.ts), the gateway in this one. Target: >= 0.8x throughput, p99 <= 2x.
 * A fourth phase puts the same 20 connections on a well-behaved route instead: what the side
 * load costs by itself, however its plugin behaves (one event loop serves every route).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { GatewayConfig } from '../runtime/config/types.ts';
import { startGateway } from '../runtime/gateway/gateway.ts';
import { startUpstream } from './gateway.ts';
import type { Scenario } from './stats.ts';

const TESTKIT = fileURLToPath(new URL('../test/fixtures/testkit/dist/testkit.wasm', import.meta.url));
const RUNNER = fileURLToPath(new URL('./load-runner.ts', import.meta.url));
export const HOSTILE_CONNECTIONS = 20;

interface LoadResult { rps: number; p50_ms: number; p99_ms: number; non2xx: number; errors: number; timeouts: number; total: number }
interface Job { url: string; connections: number; durationS: number; method: string; headers: Record<string, string> }

/** One autocannon run in its own process; resolves when it has finished. */
function load(job: Job): Promise<LoadResult> {
  const child: ChildProcess = fork(RUNNER, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.send(job);
  return new Promise<LoadResult>((resolve, reject) => {
    child.once('message', (m) => {
      child.kill();
      if ('error' in (m as object)) reject(new Error((m as { error: string }).error));
      else resolve(m as LoadResult);
    });
    child.once('exit', (c) => reject(new Error(`load runner exited ${c}`)));
  });
}

function config(upstream: string): GatewayConfig {
  const route = (name: string, filters: string[]) => ({ name, match: { pathPrefix: `/${name}` }, upstream: 'main', filters });
  return {
    listen: { host: '127.0.0.1', port: 0 },
    plugins: {
      spin: { path: TESTKIT, config: { name: 'spin', spinIfHeader: 'x-spin' } },
      trap: { path: TESTKIT, config: { name: 'trap', trapIfHeader: 'x-trap' } },
    },
    upstreams: { main: { endpoints: [upstream] } },
    // `benign` runs the same testkit filter, asked to do nothing hostile: the cost of the side load itself.
    routes: [route('plain', []), route('spin', ['spin']), route('trap', ['trap']), route('benign', ['spin'])],
    log: { level: 'silent' },
  };
}

function scenario(r: LoadResult, extra: Record<string, number> = {}): Scenario {
  return { p50_us: r.p50_ms * 1000, p99_us: r.p99_ms * 1000, ops_per_s: Math.round(r.rps), total: r.total, non2xx: r.non2xx, errors: r.errors, ...extra };
}

export async function benchIsolation(opts: { durationS: number; connections: number }): Promise<Record<string, Scenario>> {
  const up = await startUpstream();
  const out: Record<string, Scenario> = {};
  try {
    const phase = async (name: string, hostile?: { path: string; header: string }): Promise<void> => {
      const gw = await startGateway(config(up.url), { logger: pino({ level: 'silent' }) });
      try {
        const plain = (durationS: number) => load({ url: `${gw.url}/plain/x`, connections: opts.connections, durationS, method: 'GET', headers: {} });
        await plain(1); // warm-up
        // The hostile load starts first and outlasts the measured one, so the whole measurement runs beside it.
        const side = hostile
          ? load({ url: `${gw.url}${hostile.path}`, connections: HOSTILE_CONNECTIONS, durationS: opts.durationS + 2, method: 'GET', headers: { [hostile.header]: '1' } })
          : undefined;
        if (side) await new Promise((r) => setTimeout(r, 500));
        const measured = await plain(opts.durationS);
        const h = await side;
        out[`isolation/${name}`] = scenario(measured, h ? { hostile_total: h.total, hostile_non2xx: h.non2xx, hostile_p99_us: h.p99_ms * 1000 } : {});
      } finally {
        await gw.close();
      }
    };
    await phase('plain-alone');
    await phase('plain-beside-benign', { path: '/benign/x', header: 'x-benign' });
    await phase('plain-beside-spin', { path: '/spin/x', header: 'x-spin' });
    await phase('plain-beside-trap', { path: '/trap/x', header: 'x-trap' });
  } finally {
    up.stop();
  }
  return out;
}
