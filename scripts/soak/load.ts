/**
 * The soak's traffic: bounded request loops, each a kind of client. Checked kinds (well-behaved
 * routes) must get exactly one 200 with the exact body; the others (hostile plugins, faulty
 * upstreams, clients that leave mid-response) must get some answer, or leave cleanly, and are
 * counted by outcome.
 */
import { request as httpRequest } from 'node:http';
import { Agent, request } from 'undici';
import { expectedBody, slowBody } from './upstreams.ts';

export interface Traffic {
  name: string;
  /** Concurrent request loops of this kind. */
  loops: number;
  path: string;
  headers?: Record<string, string>;
  /** The exact body a checked request must get (status 200); unchecked kinds are counted only. */
  expect?: (id: string) => string;
  /** Leave after this many ms, or after the first body chunk when 0. */
  leaveAfterMs?: number;
  /** Pause between requests of one loop. */
  pauseMs?: number;
}

export interface TrafficStats {
  sent: number;
  /** Answers by HTTP status (and `left` for a client that went away on purpose). */
  outcomes: Record<string, number>;
  failures: string[];
  /** Ids of checked requests that got their answer. */
  answered: string[];
}

const CLIENT_DEADLINE_MS = 30_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Traffic for the soak's routes (see config.ts); `stallUrl` is the sub-request that never answers. */
export function soakTraffic(stallUrl: string): Traffic[] {
  return [
    { name: 'checked/wasm-filter', loops: 4, path: '/ok', expect: (id) => expectedBody(id, 'wasm') },
    { name: 'checked/no-filter', loops: 2, path: '/plain', expect: (id) => expectedBody(id, undefined) },
    { name: 'checked/slow-body', loops: 1, path: '/slow', expect: (id) => slowBody(id) },
    { name: 'leaves/slow-body', loops: 1, path: '/slow', leaveAfterMs: 0, pauseMs: 20 },
    { name: 'leaves/stalled-upstream', loops: 1, path: '/stall', leaveAfterMs: 150, pauseMs: 20 },
    { name: 'leaves/in-subrequest', loops: 1, path: '/sub', headers: { 'x-sub-url': `${stallUrl}/sub` }, leaveAfterMs: 100, pauseMs: 20 },
    { name: 'faulty/stalled-upstream', loops: 1, path: '/stall', pauseMs: 20 },
    { name: 'faulty/reset-upstream', loops: 1, path: '/reset', pauseMs: 20 },
    { name: 'hostile/spin', loops: 1, path: '/spin', headers: { 'x-spin': '1' }, pauseMs: 50 },
    { name: 'hostile/trap', loops: 1, path: '/trap', headers: { 'x-trap': '1' }, pauseMs: 20 },
    { name: 'hostile/alloc', loops: 1, path: '/alloc', headers: { 'x-alloc': '100' }, pauseMs: 50 },
    { name: 'hostile/wat-loop', loops: 1, path: '/wat', pauseMs: 50 },
  ];
}

function record(s: TrafficStats, outcome: string): void {
  s.outcomes[outcome] = (s.outcomes[outcome] ?? 0) + 1;
}

function fail(s: TrafficStats, msg: string): void {
  if (s.failures.length < 20) s.failures.push(msg);
  else if (s.failures.length === 20) s.failures.push('... (further failures not listed)');
}

/** A client that goes away mid-exchange: a socket of its own, destroyed on cue. */
function leave(url: string, id: string, t: Traffic): Promise<string> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const req = httpRequest(url, { agent: false, headers: { ...t.headers, 'x-soak-id': id } }, (res) => {
      res.once('data', () => { if (t.leaveAfterMs === 0) { req.destroy(); resolve('left'); } });
      res.on('end', () => resolve(String(res.statusCode)));
      res.on('error', () => resolve('left'));
    });
    req.on('error', () => resolve('left'));
    req.on('close', () => { clearTimeout(timer); resolve('left'); });
    if (t.leaveAfterMs) timer = setTimeout(() => req.destroy(), t.leaveAfterMs);
    req.end();
  });
}

async function once(base: string, t: Traffic, id: string, agent: Agent, s: TrafficStats): Promise<void> {
  const url = `${base}${t.path}/${id}`;
  s.sent++;
  if (t.leaveAfterMs !== undefined) {
    record(s, await leave(url, id, t));
    return;
  }
  try {
    const res = await request(url, { dispatcher: agent, headers: { ...t.headers, 'x-soak-id': id }, signal: AbortSignal.timeout(CLIENT_DEADLINE_MS) });
    const body = await res.body.text();
    record(s, String(res.statusCode));
    if (!t.expect) return;
    if (res.statusCode !== 200) fail(s, `${id}: status ${res.statusCode} ${body.slice(0, 200)}`);
    else if (body !== t.expect(id)) fail(s, `${id}: wrong body ${JSON.stringify(body.slice(0, 120))}`);
    else s.answered.push(id);
  } catch (err) {
    record(s, 'client-error');
    // An answer is owed on every route here: only the `leaves` kinds hang up on purpose.
    fail(s, `${id}: no answer: ${(err as Error).message}`);
  }
}

/** Runs every kind's loops until `stop()` is true; resolves with the stats once all have ended. */
export async function runTraffic(base: string, traffic: Traffic[], stop: () => boolean): Promise<Map<string, TrafficStats>> {
  const agent = new Agent({ connections: 64, keepAliveTimeout: 2_000 });
  const stats = new Map<string, TrafficStats>();
  let seq = 0;
  const loops: Promise<void>[] = [];
  for (const t of traffic) {
    const s: TrafficStats = { sent: 0, outcomes: {}, failures: [], answered: [] };
    stats.set(t.name, s);
    for (let l = 0; l < t.loops; l++) {
      loops.push((async () => {
        while (!stop()) {
          await once(base, t, `${t.name.replace('/', '-')}-${seq++}`, agent, s);
          if (t.pauseMs) await sleep(t.pauseMs);
        }
      })());
    }
  }
  await Promise.all(loops);
  await agent.close();
  return stats;
}
