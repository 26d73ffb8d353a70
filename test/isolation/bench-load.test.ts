/**
 * The benchmark's measuring tools, against real loopback servers: the fixed-rate client charges a
 * stalled server for the requests it held up (no coordinated omission), the closed-loop clients
 * (wrk when installed, autocannon) send the method and body asked for and count non-2xx answers,
 * a process's CPU time is read from /proc, and the targets are computed from a run's figures.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openLoad } from '../../bench/latency.ts';
import { autocannonLoad, type LoadJob, wrkLoad } from '../../bench/load.ts';
import { processCpuUs } from '../../bench/proc-cpu.ts';
import { gatewayTargets } from '../../bench/targets.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) { s.closeAllConnections(); await new Promise((r) => s.close(r)); }
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer({ keepAlive: true }, handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('fixed-rate client', () => {
  it('measures from each request\'s scheduled time, so requests queued behind a stall are charged for it', async () => {
    let first = true;
    const url = await serve((req, res) => {
      const delay = first ? 800 : 0;
      first = false;
      setTimeout(() => res.end('ok'), delay);
    });
    // One connection: while the first request stalls, every later one waits in the client's queue.
    const r = await openLoad({ url: `${url}/x`, method: 'GET', headers: {}, connections: 1, durationS: 1 }, 100, 1);
    expect(r.total).toBe(100);
    expect(r.errors).toBe(0);
    // ~80 requests were due during the stall: measured from when they were sent, all but one would be ~1 ms.
    expect(r.p50_ms).toBeGreaterThan(150);
    expect(r.max_ms).toBeGreaterThan(600);
  });
});

describe('closed-loop clients', () => {
  const seen: Array<{ method: string; bytes: number }> = [];
  const job = (url: string, method: 'GET' | 'POST'): LoadJob => ({
    url: `${url}/bad`, method, connections: 4, durationS: 1, headers: { 'x-test': '1', 'content-type': 'text/plain' },
    ...(method === 'POST' ? { body: 'hello body' } : {}),
  });
  const server = () => serve((req, res) => {
    let bytes = 0;
    req.on('data', (d: Buffer) => { bytes += d.length; });
    req.on('end', () => { seen.push({ method: req.method!, bytes }); res.writeHead(req.headers['x-test'] === '1' ? 503 : 200).end(); });
  });
  const tools = [['autocannon', autocannonLoad] as const];
  const wrkInstalled = spawnSync('wrk', ['--version']).error === undefined;
  if (wrkInstalled) tools.push(['wrk', wrkLoad] as never);

  for (const [name, load] of tools) {
    it(`${name} sends the method, headers and body asked for and counts every non-2xx answer`, async () => {
      const url = await server();
      seen.length = 0;
      const r = await load(job(url, 'POST'));
      expect(r.total).toBeGreaterThan(10);
      expect(r.non2xx).toBe(r.total);
      expect(seen.every((s) => s.method === 'POST' && s.bytes === 'hello body'.length)).toBe(true);
      seen.length = 0;
      const g = await load(job(url, 'GET'));
      expect(g.total).toBeGreaterThan(10);
      expect(seen.every((s) => s.method === 'GET' && s.bytes === 0)).toBe(true);
    });
  }
});

describe('process CPU from /proc', () => {
  it.runIf(process.platform === 'linux')('reads another process\'s user + system time', async () => {
    // Spins until it has used 400 ms of CPU (however loaded the machine), then waits to be read.
    const child = spawn(process.execPath, ['-e', 'while ((process.cpuUsage().user + process.cpuUsage().system) < 400000); console.log("done"); setTimeout(() => {}, 30000)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await once(child.stdout!, 'data');
      const us = processCpuUs(child.pid!);
      expect(us).toBeGreaterThanOrEqual(380_000);
      expect(us).toBeLessThan(5_000_000);
    } finally {
      child.kill();
    }
  });
});

describe('targets', () => {
  it('computes the ratios and the per-filter host overhead from the same run, with met or missed', () => {
    const s = (ops: number, cpu: number, extra: Record<string, number> = {}) => ({ p50_us: 1, p99_us: 1, ops_per_s: ops, cpu_us_per_req: cpu, ...extra });
    const notes: string[] = [];
    const t = gatewayTargets({
      'hook/header-router-as/fast': { p50_us: 2, p99_us: 3, ops_per_s: 1 },
      'gateway/minimal-proxy/GET': s(1000, 90),
      'gateway/no-filter/GET': s(950, 100),
      'gateway/wasm-3-filters/GET': s(700, 140, { guest_calls_per_req: 4 }),
    }, (n) => notes.push(n));
    const by = Object.fromEntries(t.map((x) => [x.name, x]));
    expect(by['no-filter / minimal proxy throughput (GET)']).toMatchObject({ value: 0.95, met: true });
    expect(by['no-filter / minimal proxy requests per CPU-second (GET)']).toMatchObject({ value: 0.9, met: true });
    expect(by['wasm-3 / no-filter CPU per request (GET)']).toMatchObject({ value: 1.4, met: false });
    // (140 - 100) / 4 = 10 us per guest call, less 2 us of hook: 8 > 5.
    expect(by['per-filter host overhead, us per guest call (GET)']).toMatchObject({ value: 8, met: false });
    expect(t.some((x) => x.name.includes('POST'))).toBe(false);
    expect(notes).toEqual([]);
  });
});
