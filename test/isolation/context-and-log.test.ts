/**
 * What a guest can make the host keep or write is bounded per plugin: the request context store
 * (keys, bytes, key length) and guest log lines (length, lines per call, a per-plugin rate).
 * Past a bound the excess is dropped (the guest sees no error), counted in metrics, and warned
 * about once.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadComponent } from '../../runtime/component/loader.ts';
import type { PluginConfig } from '../../runtime/config/types.ts';
import { Metrics } from '../../runtime/observability/metrics.ts';
import { FilterHost } from '../../runtime/pipeline/filter.ts';
import { guestPolicy } from '../../runtime/pipeline/guest-limits.ts';
import { clipLine } from '../../runtime/pipeline/guest-log.ts';
import { createRequestContext } from '../../runtime/pipeline/request-context.ts';
import { SubrequestBridge, startTrace } from '../../runtime/subrequest/index.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { IMPORTS, hostileComponent, type HostileParts } from '../helpers/hostile.ts';
import { type LogLine, startEchoUpstream, startTestGateway } from '../helpers/servers.ts';
import { guestLines, oneRoute } from '../gateway/helpers.ts';

const MiB = 1024 * 1024;
const track = useCleanup();

/** Calls context.set `n` times with distinct 2-byte keys and the `vlen` bytes at 64 KiB as value. */
function contextFlood(n: number, vlen: number): HostileParts {
  return {
    pages: 18,
    imports: IMPORTS.contextSet,
    requestHeaders: `(call $flood (i32.const ${n}) (i32.const ${vlen}))`,
    extra: `(func $flood (param $n i32) (param $vlen i32)
      (local $i i32)
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (i32.const 12288) (i32.add (i32.const 0x30) (i32.div_u (local.get $i) (i32.const 64))))
        (i32.store8 (i32.const 12289) (i32.add (i32.const 0x30) (i32.rem_u (local.get $i) (i32.const 64))))
        (call $ctx_set (i32.const 12288) (i32.const 2) (i32.const 65536) (local.get $vlen))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))`,
  };
}

/** Logs "hostile" `n` times, or one line of `len` 'x' when `len` is given. */
function logFlood(n: number, len?: number): HostileParts {
  const line = len === undefined
    ? '(call $log (i32.const 1) (i32.const 64) (i32.const 7))'
    : `(memory.fill (i32.const 65536) (i32.const 0x78) (i32.const ${len})) (call $log (i32.const 1) (i32.const 65536) (i32.const ${len}))`;
  return {
    pages: 4,
    imports: IMPORTS.log,
    requestHeaders: `(call $flood (i32.const ${n}))`,
    extra: `(func $flood (param $n i32)
      (block $done (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        ${line}
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l))))`,
  };
}

function capture(): { logs: LogLine[]; logger: pino.Logger } {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  return { logs, logger: pino({ level: 'debug' }, sink) };
}

/** A real instance of `parts` run by FilterHost on one request context, as a gateway would. */
async function hostRun(parts: HostileParts, limits: Parameters<typeof guestPolicy>[0] = {}) {
  const loaded = await loadComponent(await hostileComponent(parts));
  const inst = await loaded.factory.instantiate();
  const { logs, logger } = capture();
  const ctx = createRequestContext({ id: 'req-1', route: 'main', timeoutMs: 5000, trace: startTrace(), depth: 0, logger });
  const metrics = new Metrics();
  const filter = { name: 'flood', subrequests: { plugin: 'flood', allowedHosts: [], maxInFlight: 1 }, guest: guestPolicy(limits) };
  const bridge = new SubrequestBridge({ logger: pino({ level: 'silent' }) });
  const host = () => new FilterHost(filter, ctx, bridge, metrics);
  expect(await inst.configure(host(), '{}')).toMatchObject({ ok: true });
  const call = () => inst.onRequestHeaders(host(), { requestId: 'req-1', attempt: ctx.attempt, route: 'main' }, { method: 'GET', path: '/', authority: 'a', headers: [] });
  return { ctx, logs, metrics, host, call };
}

async function hostileFile(parts: HostileParts): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'praxis-hostile-')), 'hostile.wasm');
  await writeFile(path, await hostileComponent(parts));
  return path;
}

/** The value of one metric series in Prometheus text, 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const warnings = (logs: LogLine[], re: RegExp) => logs.filter((l) => l.level === 40 && re.test(l.msg));

describe('context store bounds', () => {
  it('context.set in a loop with 1 MiB values cannot grow the store past its bound', async () => {
    // 32 MiB in one call: within the 64 MiB lift budget, so only the store's bound stops it.
    const run = await hostRun(contextFlood(32, MiB));
    expect(await run.call()).toEqual({ tag: 'continue' }); // the guest is not told
    expect(run.ctx.store.usage('flood').bytes).toBeLessThanOrEqual(MiB);
    expect(sample(await run.metrics.text(), 'praxis_guest_context_sets_dropped_total{plugin="flood",reason="too-many-bytes"}')).toBe(32);
    expect(warnings(run.logs, /context\.set dropped/)).toHaveLength(1);
  });

  it('keeps at most maxContextKeys keys; replacing a kept key still works; values survive into the next attempt', async () => {
    const run = await hostRun(contextFlood(300, 16));
    await run.call();
    expect(run.ctx.store.usage('flood')).toEqual({ keys: 256, bytes: 256 * 18 });
    expect(sample(await run.metrics.text(), 'praxis_guest_context_sets_dropped_total{plugin="flood",reason="too-many-keys"}')).toBe(44);
    // The same request retried: the guest sets the same 300 keys again; the 256 kept are replaced, the rest still dropped.
    run.ctx.attempt = 2;
    await run.call();
    expect(run.ctx.store.usage('flood')).toEqual({ keys: 256, bytes: 256 * 18 });
    expect(run.host().contextGet('00')).toHaveLength(16);
    expect(run.host().contextGet('43')).toBeUndefined(); // key 4*64+3 = 259: past the cap
    expect(warnings(run.logs, /context\.set dropped/)).toHaveLength(1); // once per request
  });

  it('a refused set leaves the earlier value in place; an over-long key is refused', async () => {
    const run = await hostRun(contextFlood(0, 0), { maxContextBytes: 100 });
    const host = run.host();
    host.contextSet('k', new Uint8Array(50));
    host.contextSet('k', new Uint8Array(200));
    expect(host.contextGet('k')).toHaveLength(50);
    host.contextSet('x'.repeat(5000), new Uint8Array(1));
    expect(run.ctx.store.usage('flood')).toEqual({ keys: 1, bytes: 51 });
    const text = await run.metrics.text();
    expect(sample(text, 'praxis_guest_context_sets_dropped_total{plugin="flood",reason="too-many-bytes"}')).toBe(1);
    expect(sample(text, 'praxis_guest_context_sets_dropped_total{plugin="flood",reason="key-too-long"}')).toBe(1);
  });
});

describe('guest log bounds', () => {
  it('caps the lines one call may write; the rest are counted and warned about once', async () => {
    const run = await hostRun(logFlood(1000));
    await run.call();
    expect(guestLines(run.logs, 'hostile')).toHaveLength(100);
    expect(sample(await run.metrics.text(), 'praxis_guest_log_lines_dropped_total{plugin="flood"}')).toBe(900);
    expect(warnings(run.logs, /guest log lines dropped/)).toHaveLength(1);
  });

  it('cuts a long line at maxLogLineBytes with a marker', async () => {
    const run = await hostRun(logFlood(1, 10_000));
    await run.call();
    const [line] = guestLines(run.logs, 'x');
    expect(line!.msg).toBe(`${'x'.repeat(4096)}…[truncated 5904 bytes]`);
  });

  it('cuts on a character boundary', () => {
    expect(clipLine('é'.repeat(10), 5)).toBe('éé…[truncated 16 bytes]');
    expect(clipLine('short', 5)).toBe('short');
  });
});

describe('at the gateway', () => {
  it('a plugin flooding the log across requests is held to its rate, counted in metrics', async () => {
    const up = track(await startEchoUpstream());
    // No refill (0 lines/s): the burst of 50 is all this plugin may write.
    const flood: PluginConfig = { path: await hostileFile(logFlood(40)), limits: { logLinesPerSecond: 0, logBurst: 50 } };
    const gw = track(await startTestGateway(oneRoute({ flood }, ['flood'], { main: up.url })));
    for (let i = 0; i < 3; i++) expect((await fetch(`${gw.url}/x`)).status).toBe(200);
    expect(guestLines(gw.logs, 'hostile')).toHaveLength(50);
    expect(sample(await gw.metrics(), 'praxis_guest_log_lines_dropped_total{plugin="flood"}')).toBe(70);
    expect(warnings(gw.logs, /guest log lines dropped/).length).toBeGreaterThanOrEqual(1);
  });

  it('context limits come from the plugin entry; each request warns once', async () => {
    const up = track(await startEchoUpstream());
    const sets: PluginConfig = { path: await hostileFile(contextFlood(10, 1000)), limits: { maxContextBytes: 4096 } };
    const gw = track(await startTestGateway(oneRoute({ sets }, ['sets'], { main: up.url })));
    for (let i = 0; i < 2; i++) expect((await fetch(`${gw.url}/x`)).status).toBe(200);
    // 4 values of 1000 bytes + 2-byte keys fit in 4096; 6 of 10 are dropped, per request.
    expect(sample(await gw.metrics(), 'praxis_guest_context_sets_dropped_total{plugin="sets",reason="too-many-bytes"}')).toBe(12);
    expect(warnings(gw.logs, /context\.set dropped/)).toHaveLength(2);
  });
});
