/**
 * The soak's gateway, alone in its own process so its memory and descriptors are its own: starts
 * the gateway from the config it is sent, and answers samples of what it holds (resident memory
 * after a full GC and after a last-resort one, which also returns V8's free pages; the young and
 * old generations V8 keeps committed; open descriptors, active libuv
 * resources, borrowed pool instances, sub-requests and exchanges in flight).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import v8 from 'node:v8';
import { pino } from 'pino';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { releasedRss } from './released-rss.ts';
import { type Gateway, startGateway } from '../../runtime/gateway/gateway.ts';

export interface Sample {
  at: number;
  rss: number;
  heapUsed: number;
  /** Memory outside the JS heap that V8 knows of (wasm memories, Buffers). */
  external: number;
  /**
   * Resident memory after a further, last-resort GC: V8 also hands back the free pages it keeps
   * for reuse (its page pool, the unused part of the young generation). What is left is what the
   * process holds; the soak judges this (see soak/memory.ts).
   */
  rssReleased: number;
  /** What V8 has committed to its old generation (old, code, large-object and other non-young spaces). */
  oldGen: number;
  /** V8's code spaces (JIT and wasm-wrapper code, not the wasm modules' own code). */
  codeSpace: number;
  /**
   * What V8 has committed to its young generation (new space, new large objects). Empty after
   * the GC before each sample, but kept: V8 doubles it under allocation pressure up to its cap.
   */
  youngGen: number;
  fds: number;
  /** Open descriptors by what they point at (socket, pipe, anon_inode:[eventfd], a file ...). */
  fdKinds: Record<string, number>;
  /** process.getActiveResourcesInfo(), counted by kind. */
  resources: Record<string, number>;
  /** Pool instances lent out right now, over every plugin. */
  borrowed: number;
  /** Calls queued for an instance, over every plugin. */
  pending: number;
  subrequestsInFlight: number;
  /** Client exchanges running (when the gateway reports it). */
  exchangesInFlight?: number;
}

export type ToChild = { type: 'start'; config: GatewayConfig } | { type: 'sample' } | { type: 'close' };
export type FromChild =
  | { type: 'started'; url: string }
  | { type: 'failed'; error: string }
  | { type: 'sample'; sample: Sample }
  | { type: 'closed' };

let gw: Gateway | undefined;
const send = (m: FromChild): void => { process.send!(m); };

/** A counter the gateway may or may not expose yet (the harness runs across versions). */
function optionalCounter(obj: object, name: string): number | undefined {
  const f = (obj as Record<string, unknown>)[name];
  return typeof f === 'function' ? Number((f as () => unknown).call(obj)) : undefined;
}

const TCP_STATES: Record<string, string> = { '01': 'established', '06': 'time-wait', '07': 'close', '08': 'close-wait', '0A': 'listen', '09': 'last-ack', '04': 'fin-wait1', '05': 'fin-wait2' };

/** TCP sockets by inode: "state local-port->remote-port", from /proc/net/tcp{,6}. */
function tcpByInode(): Map<string, string> {
  const out = new Map<string, string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = readFileSync(table, 'utf8'); } catch { continue; }
    for (const row of text.split('\n').slice(1)) {
      const f = row.trim().split(/\s+/);
      if (f.length < 10) continue;
      const port = (a: string) => parseInt(a.split(':')[1]!, 16);
      out.set(f[9]!, `${TCP_STATES[f[3]!] ?? f[3]} ${port(f[1]!)}->${port(f[2]!)}`);
    }
  }
  return out;
}

/** Open descriptors by kind; each TCP socket is named by its state and ports. */
function fdKinds(): Record<string, number> {
  const kinds: Record<string, number> = {};
  const tcp = tcpByInode();
  for (const fd of readdirSync('/proc/self/fd')) {
    let k: string;
    try {
      k = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the descriptor readdir itself used, already closed
    }
    const inode = /^socket:\[(\d+)\]$/.exec(k)?.[1];
    k = inode !== undefined ? `socket ${tcp.get(inode) ?? '(not tcp)'}` : k.replace(/:\[\d+\]$/, '');
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  return kinds;
}

const spaceBytes = (spaces: v8.HeapSpaceInfo[], which: (name: string) => boolean): number =>
  spaces.filter((x) => which(x.space_name)).reduce((n, x) => n + x.space_size, 0);

function sample(g: Gateway): Sample {
  (globalThis as { gc?: () => void }).gc?.();
  const resources: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
  const pools = g.poolStats();
  const mem = process.memoryUsage();
  const spaces = v8.getHeapSpaceStatistics();
  const exchanges = optionalCounter(g, 'exchangesInFlight');
  return {
    at: Date.now(),
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    external: mem.external,
    oldGen: spaceBytes(spaces, (n) => n !== 'new_space' && n !== 'new_large_object_space'),
    codeSpace: spaceBytes(spaces, (n) => n === 'code_space' || n === 'code_large_object_space'),
    youngGen: spaceBytes(spaces, (n) => n === 'new_space' || n === 'new_large_object_space'),
    fds: readdirSync('/proc/self/fd').length,
    fdKinds: fdKinds(),
    resources,
    borrowed: pools.reduce((n, p) => n + p.borrowed, 0),
    pending: pools.reduce((n, p) => n + p.pending, 0),
    subrequestsInFlight: g.subrequestsInFlight(),
    ...(exchanges !== undefined ? { exchangesInFlight: exchanges } : {}),
    // Last: the last-resort GC shrinks the young generation, which the figures above must not see.
    rssReleased: releasedRss(),
  };
}

process.on('message', (m: ToChild) => {
  if (m.type === 'start') {
    startGateway(m.config, { logger: pino({ level: 'silent' }) })
      .then((g) => { gw = g; send({ type: 'started', url: g.url }); })
      .catch((err: unknown) => send({ type: 'failed', error: String((err as Error)?.stack ?? err) }));
  } else if (m.type === 'sample') {
    if (gw) send({ type: 'sample', sample: sample(gw) });
  } else {
    void (gw?.close() ?? Promise.resolve()).then(() => send({ type: 'closed' }));
  }
});
process.on('disconnect', () => process.exit(0));
