import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { effectiveTimeout } from '../../runtime/subrequest/timeout.ts';
import { get, makeBridge, makeParent, policy, startServer, type TestServer } from './helpers.ts';

describe('effectiveTimeout', () => {
  const base = { guestMs: undefined, policyMs: undefined, defaultMs: 5000, minUsefulMs: 5, now: 1000, parentDeadline: 1_000_000 };
  it('prefers the guest, then the plugin, then the default', () => {
    expect(effectiveTimeout({ ...base, guestMs: 100, policyMs: 200 })).toBe(100);
    expect(effectiveTimeout({ ...base, policyMs: 200 })).toBe(200);
    expect(effectiveTimeout(base)).toBe(5000);
  });
  it('clamps strictly below what is left of the parent deadline, and fails under the useful minimum', () => {
    const t = effectiveTimeout({ ...base, guestMs: 10_000, parentDeadline: 1000 + 300 });
    expect(t).toBeLessThan(300);
    expect(t).toBeGreaterThan(250);
    expect(effectiveTimeout({ ...base, parentDeadline: 1000 + 12 })).toBeUndefined();
    expect(effectiveTimeout({ ...base, parentDeadline: 900 })).toBeUndefined();
    expect(effectiveTimeout({ ...base, guestMs: 2 })).toBeUndefined();
  });
});

describe('timeouts against a slow callee', () => {
  let slow: TestServer;
  beforeAll(async () => {
    slow = await startServer((_req, res) => {
      const t = setTimeout(() => res.end('late'), 3000);
      res.on('close', () => clearTimeout(t));
    });
  });
  afterAll(() => slow.close());

  async function timed(fn: () => Promise<unknown>): Promise<[unknown, number]> {
    const t0 = performance.now();
    const r = await fn();
    return [r, performance.now() - t0];
  }

  it("the guest's timeoutMs gives `timeout` within tolerance", async () => {
    const { bridge } = makeBridge({ defaultTimeoutMs: 5000 });
    const [res, ms] = await timed(() => bridge.send(makeParent(), policy([slow.host]), get(slow.url(), { timeoutMs: 200 })));
    await bridge.close();
    expect(res).toEqual({ ok: false, error: { tag: 'timeout' } });
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(700);
  });

  it("the plugin's timeoutMs applies when the guest gives none", async () => {
    const { bridge } = makeBridge({ defaultTimeoutMs: 5000 });
    const [res, ms] = await timed(() => bridge.send(makeParent(), policy([slow.host], { timeoutMs: 150 }), get(slow.url())));
    await bridge.close();
    expect(res).toEqual({ ok: false, error: { tag: 'timeout' } });
    expect(ms).toBeLessThan(650);
  });

  it('the default applies when neither gives one', async () => {
    const { bridge } = makeBridge({ defaultTimeoutMs: 150 });
    const [res, ms] = await timed(() => bridge.send(makeParent(), policy([slow.host]), get(slow.url())));
    await bridge.close();
    expect(res).toEqual({ ok: false, error: { tag: 'timeout' } });
    expect(ms).toBeLessThan(650);
  });

  it("the parent deadline wins when it is sooner than the guest's timeout", async () => {
    const { bridge } = makeBridge();
    const parent = makeParent({ deadline: Date.now() + 1000 });
    const [res, ms] = await timed(() => bridge.send(parent, policy([slow.host]), get(slow.url(), { timeoutMs: 2500 })));
    await bridge.close();
    expect(res).toEqual({ ok: false, error: { tag: 'timeout' } });
    // The parent's deadline, not the guest's 2.5 s, ended it (strictness of the clamp is the unit test above;
    // a loaded CI machine can add a few hundred ms to the wall clock).
    expect(ms).toBeLessThan(2000);
    expect(ms).toBeGreaterThan(800);
  });

  it('a clamp below minUsefulTimeoutMs fails at once without connecting', async () => {
    const { bridge } = makeBridge({ minUsefulTimeoutMs: 20 });
    const before = slow.connections;
    const parent = makeParent({ deadline: Date.now() + 25 });
    const [res, ms] = await timed(() => bridge.send(parent, policy([slow.host]), get(slow.url())));
    await bridge.close();
    expect(res).toEqual({ ok: false, error: { tag: 'timeout' } });
    expect(ms).toBeLessThan(15);
    expect(slow.connections).toBe(before);
  });
});
