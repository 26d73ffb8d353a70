/**
 * The ejection policy on its own clock (window, doubling, cap, quiet reset), the failure kinds
 * as the invoker reports them, and the config keys.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { GuestTrap, type TrapKind } from '../../runtime/component/errors.ts';
import type { ComponentFactory, FilterInstance } from '../../runtime/component/types.ts';
import { validateConfig } from '../../runtime/config/load.ts';
import { Metrics } from '../../runtime/observability/metrics.ts';
import type { ChainFilter } from '../../runtime/pipeline/filter.ts';
import { FilterFailure, HookInvoker } from '../../runtime/pipeline/invoke.ts';
import { createRequestContext } from '../../runtime/pipeline/request-context.ts';
import { DEFAULT_EJECTION, Ejection } from '../../runtime/pool/ejection.ts';
import { DEFAULT_POOL_LIMITS, PluginPool } from '../../runtime/pool/plugin-pool.ts';
import { SubrequestBridge } from '../../runtime/subrequest/index.ts';
import { startTrace } from '../../runtime/subrequest/identity.ts';
import { loadComponent } from '../../runtime/component/loader.ts';
import { hostileComponent } from '../helpers/hostile.ts';
import { oneRoute, testkit } from '../gateway/helpers.ts';
import { noKeyValue } from '../../runtime/keyvalue/no-store.ts';
import { systemClockCalls } from '../../runtime/component/host-clock.ts';

const policy = { enabled: true, failures: 3, windowMs: 1000, baseMs: 100, maxMs: 1000 };

/** Ejects `e` at `now` with `policy.failures` failures, and returns the back-off it got. */
function ejectAt(e: Ejection, now: number): number {
  for (let i = 0; i < policy.failures; i++) e.failed('trap', now, false);
  return e.until - now;
}

describe('ejection policy', () => {
  it('counts failures within the window only', () => {
    const e = new Ejection('p', policy);
    e.failed('trap', 1, false);
    e.failed('trap', 600, false);
    e.failed('trap', 1200, false); // the first is 1199 ms old: out of the window
    expect(e.until).toBe(0);
    e.failed('trap', 1500, false); // 600, 1200, 1500
    expect(e.until).toBe(1600);
  });

  it('lets one probe through after the back-off, doubles on a failed probe, caps at maxMs', () => {
    const e = new Ejection('p', policy);
    expect(ejectAt(e, 10_000)).toBe(100);
    expect(e.admit(10_050)).toBe(50);
    expect(e.admit(10_100)).toBe(0); // the probe
    expect(e.admit(10_100)).toBeGreaterThan(0); // while it runs, the others wait
    e.failed('memory', 10_120, true);
    expect(e.until - 10_120).toBe(200);
    for (const want of [400, 800, 1000, 1000]) {
      const at = e.until;
      expect(e.admit(at)).toBe(0);
      e.failed('cpu-budget', at, true);
      expect(e.until - at).toBe(want);
    }
    expect(e.state()).toMatchObject({ ejected: true, ejections: 6 });
  });

  it('a successful probe brings the plugin back with a fresh window; the back-off restarts after maxMs of quiet', () => {
    const e = new Ejection('p', policy);
    ejectAt(e, 10_000);
    e.admit(10_100);
    e.probeSucceeded(10_110);
    expect(e.state()).toEqual({ ejected: false, until: null, ejections: 1 });
    e.failed('trap', 10_120, false);
    expect(e.until).toBe(0); // the failures before the ejection no longer count
    expect(ejectAt(e, 10_200)).toBe(200); // back soon after: twice as long
    e.admit(e.until);
    e.probeSucceeded(10_500);
    expect(ejectAt(e, 10_500 + policy.maxMs + 1)).toBe(100); // after a quiet maxMs: base again
  });

  it('an abandoned probe lets the next call probe; disabled never ejects', () => {
    const e = new Ejection('p', policy);
    expect(ejectAt(e, 0)).toBe(100);
    expect(e.admit(100)).toBe(0);
    e.probeAbandoned();
    expect(e.admit(101)).toBe(0);
    const off = new Ejection('p', { ...policy, enabled: false });
    ejectAt(off, 0);
    expect(off.state()).toEqual({ ejected: false, until: null, ejections: 0 });
  });

  it('defaults: 5 failures in 10 s, 5 s doubling to 5 min, on', () => {
    expect(DEFAULT_EJECTION).toEqual({ enabled: true, failures: 5, windowMs: 10_000, baseMs: 5_000, maxMs: 300_000 });
  });
});

describe('failure kinds', () => {
  it('cpu-budget and memory are reported apart from trap, in logs, metrics and the ejection line', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'debug' }, new Writable({
      write(chunk: Buffer, _enc, cb) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); cb(); },
    }));
    // A real guest, whose request hook fails with whatever kind the test sets next.
    const real = (await loadComponent(await hostileComponent())).factory;
    let kind: TrapKind = 'trap';
    const factory: ComponentFactory = {
      binding: real.binding,
      async instantiate(): Promise<FilterInstance> {
        const inner = await real.instantiate();
        return Object.assign(Object.create(inner) as FilterInstance, {
          configure: inner.configure.bind(inner),
          onRequestHeaders: async () => { throw new GuestTrap(`stopped (${kind})`, { kind }); },
        });
      },
    };
    const ejection = new Ejection('k', { ...DEFAULT_EJECTION, failures: 2 }, logger);
    const noHost = { httpSubrequest: async () => ({ ok: false as const, error: { tag: 'denied' as const, reason: '' } }), httpSubrequestAll: async () => [], contextGet: () => undefined, contextSet: () => {}, log: () => {}, ...noKeyValue('none in this test'), ...systemClockCalls };
    const pool = await PluginPool.create('k', factory, '{}', DEFAULT_POOL_LIMITS, noHost, ejection);
    const filter: ChainFilter = { name: 'k', pool, info: pool.info, failure: 'closed', subrequests: { plugin: 'k', allowedHosts: [], maxInFlight: 1 } };
    const metrics = new Metrics({ poolStats: () => [pool.stats()], subrequestsInFlight: () => 0 });
    const bridge = new SubrequestBridge({ logger: pino({ level: 'silent' }) });
    const invoker = new HookInvoker(bridge, metrics);
    const head = { method: 'GET', path: '/', authority: 'a', headers: [] };
    const run = () => invoker.invoke(filter, createRequestContext({ id: 'r', route: 'r', timeoutMs: 5000, trace: startTrace(), depth: 0, logger }), 'on-request-headers',
      (i, h) => i.onRequestHeaders(h, { requestId: 'r', attempt: 1, route: 'r' }, head));
    try {
      kind = 'cpu-budget';
      await expect(run()).rejects.toBeInstanceOf(FilterFailure);
      kind = 'memory';
      await expect(run()).rejects.toMatchObject({ status: 500, type: 'filter_failed' });
      await expect(run()).rejects.toMatchObject({ status: 503, type: 'plugin_ejected', plugin: 'k', retryAfterS: 5 });
      expect(lines.filter((l) => l.msg !== undefined && String(l.msg).startsWith('filter failed')).map((l) => l.kind)).toEqual(['cpu-budget', 'memory']);
      expect(lines.find((l) => String(l.msg).includes('ejected for'))).toMatchObject({ plugin: 'k', kind: 'memory', failures: 2, backoffMs: 5000 });
      const text = await metrics.text();
      expect(text).toContain('praxis_filter_failures_total{plugin="k",hook="on-request-headers",kind="cpu-budget"} 1');
      expect(text).toContain('praxis_filter_failures_total{plugin="k",hook="on-request-headers",kind="memory"} 1');
      expect(text).not.toContain('kind="trap"');
    } finally {
      await pool.close();
      await bridge.close();
    }
  });
});

describe('ejection config', () => {
  it('names the key of a bad value and refuses a base back-off above the cap', () => {
    const cfg = (ejection: Record<string, unknown>) => oneRoute({ x: testkit({}, { ejection }) }, ['x'], { main: 'http://127.0.0.1:1' });
    expect(() => validateConfig(cfg({ failures: 0 }))).toThrow(/plugins\.x\.ejection\.failures: must be >= 1/);
    expect(() => validateConfig(cfg({ after: 3 }))).toThrow(/plugins\.x\.ejection\.after: unknown key/);
    expect(() => validateConfig(cfg({ baseMs: 2000, maxMs: 1000 }))).toThrow(/plugins\.x\.ejection\.baseMs: must not exceed ejection\.maxMs \(1000\)/);
    expect(validateConfig(cfg({ enabled: false, failures: 20, windowMs: 60_000, baseMs: 1000, maxMs: 60_000 }))).toBeTruthy();
  });
});
