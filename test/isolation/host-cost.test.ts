/**
 * The host path around a hook stays cheap without giving up a bound: a guest log line at a level
 * the gateway does not write is dropped before anything is spent on it (no child logger, no
 * token from the plugin's rate, no drop counted), while lines at written levels keep every bound.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadComponent } from '../../runtime/component/loader.ts';
import { Metrics } from '../../runtime/observability/metrics.ts';
import { FilterHost } from '../../runtime/pipeline/filter.ts';
import { guestPolicy } from '../../runtime/pipeline/guest-limits.ts';
import { createRequestContext } from '../../runtime/pipeline/request-context.ts';
import { SubrequestBridge, startTrace } from '../../runtime/subrequest/index.ts';
import { IMPORTS, hostileComponent } from '../helpers/hostile.ts';
import type { LogLine } from '../helpers/servers.ts';

/** Logs "hostile" `debug` times at debug, then `info` times at info (the base module keeps the text at 64). */
function debugThenInfo(debug: number, info: number) {
  const lines = (level: number, n: number) => Array.from({ length: n }, () => `(call $log (i32.const ${level}) (i32.const 64) (i32.const 7))`).join(' ');
  return { imports: IMPORTS.log, requestHeaders: `${lines(0, debug)} ${lines(1, info)}` };
}

async function runAt(level: 'info' | 'debug', debug: number, info: number) {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  const logger = pino({ level }, sink);
  const inst = await (await loadComponent(await hostileComponent(debugThenInfo(debug, info)))).factory.instantiate();
  const ctx = createRequestContext({ id: 'req-1', route: 'main', timeoutMs: 5000, trace: startTrace(), depth: 0, logger });
  const metrics = new Metrics();
  // No refill: a burst of 3 lines is all this plugin may ever write.
  const filter = { name: 'chatty', subrequests: { plugin: 'chatty', allowedHosts: [], maxInFlight: 1 }, guest: guestPolicy({ logLinesPerSecond: 0, logBurst: 3 }) };
  const host = () => new FilterHost(filter, ctx, new SubrequestBridge({ logger: pino({ level: 'silent' }) }), metrics);
  expect(await inst.configure(host(), '{}')).toMatchObject({ ok: true });
  await inst.onRequestHeaders(host(), { requestId: 'req-1', attempt: 1, route: 'main' }, { method: 'GET', path: '/', authority: 'a', headers: [] });
  await new Promise((r) => setImmediate(r));
  const dropped = /praxis_guest_log_lines_dropped_total\{plugin="chatty"\} (\d+)/.exec(await metrics.text());
  return { guest: logs.filter((l) => l.guest === true), dropped: dropped ? Number(dropped[1]) : 0, warned: logs.some((l) => /guest log lines dropped/.test(l.msg)) };
}

describe('guest log lines the logger would not write', () => {
  it('cost the plugin nothing: its info lines after a run of debug lines are all written', async () => {
    const run = await runAt('info', 50, 3);
    expect(run.guest.map((l) => [l.level, l.msg])).toEqual([[30, 'hostile'], [30, 'hostile'], [30, 'hostile']]);
    expect(run.dropped).toBe(0);
    expect(run.warned).toBe(false);
  });

  it('at a level that is written, the same lines still meet the rate', async () => {
    const run = await runAt('debug', 50, 3);
    expect(run.guest).toHaveLength(3);
    expect(run.guest.every((l) => l.level === 20)).toBe(true);
    expect(run.dropped).toBe(50);
    expect(run.warned).toBe(true);
  });
});
