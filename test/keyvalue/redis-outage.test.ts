/**
 * Redis down, hung or slow: every call answers `unavailable` within its bound (nothing queues,
 * nothing throws, the process keeps running), and calls succeed again once Redis is back.
 */
import { describe, expect, it } from 'vitest';
import { KeyValueStore } from '../../runtime/keyvalue/store.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startRedis } from '../helpers/redis.ts';
import { bytes, scope, silent, sleep, text, value } from './helpers.ts';

const track = useCleanup();

async function untilOk(attempt: () => Promise<{ ok: boolean }>, withinMs: number): Promise<void> {
  const until = Date.now() + withinMs;
  while (!(await attempt()).ok) {
    if (Date.now() > until) throw new Error(`no successful call within ${withinMs} ms`);
    await sleep(50);
  }
}

describe('redis backend outages', () => {
  it('Redis killed mid-test: calls answer unavailable promptly, and succeed again once it is back', async () => {
    const redis = track(await startRedis());
    const store = track(await KeyValueStore.open({ backend: 'redis', redis: { url: redis.url, timeoutMs: 5000 } }, silent));
    const kv = store.forPlugin('p');
    value(await kv.set(scope(), '', 'k', bytes('before')));
    await redis.kill();
    // The client may not have noticed the drop yet: give it a moment, then every call fails fast.
    await sleep(100);
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? kv.get(scope(), '', 'k') : kv.increment(scope(), '', 'n', 1n))));
    const took = performance.now() - started;
    for (const r of results) expect(r.ok ? 'ok' : r.error.tag).toBe('unavailable');
    // Fail fast: not queued until a reconnect or the call's timeout (5000 ms).
    expect(took).toBeLessThan(2000);
    await redis.restart();
    await untilOk(() => kv.set(scope(), '', 'k', bytes('after')), 10_000);
    expect(text(value(await kv.get(scope(), '', 'k')))).toBe('after');
  });

  it('a gateway may start while Redis is down: calls are unavailable until Redis comes up', async () => {
    const redis = track(await startRedis());
    await redis.kill();
    const opened = performance.now();
    const store = track(await KeyValueStore.open({ backend: 'redis', redis: { url: redis.url, connectTimeoutMs: 300 } }, silent));
    expect(performance.now() - opened).toBeLessThan(5000);
    const kv = store.forPlugin('p');
    const r = await kv.get(scope(), '', 'k');
    expect(r.ok ? 'ok' : r.error.tag).toBe('unavailable');
    await redis.restart();
    await untilOk(() => kv.increment(scope(), '', 'n', 1n), 10_000);
  });

  it('a hung Redis: a call waits at most timeoutMs, and a request deadline nearer than that clamps it', async () => {
    const redis = track(await startRedis());
    const store = track(await KeyValueStore.open({ backend: 'redis', redis: { url: redis.url, timeoutMs: 1500 } }, silent));
    const kv = store.forPlugin('p');
    value(await kv.set(scope(), '', 'k', bytes('v')));
    redis.pause();
    const started = performance.now();
    const timedOut = await kv.get(scope(), '', 'k');
    expect(timedOut.ok ? 'ok' : timedOut.error.tag).toBe('unavailable');
    expect(timedOut.ok ? '' : timedOut.error.reason).toMatch(/no answer within 1500 ms/);
    expect(performance.now() - started).toBeLessThan(5000);
    // The request has 300 ms left: the call ends before its deadline, not at timeoutMs.
    const deadline = Date.now() + 300;
    const clamped = await kv.get({ deadline, signal: new AbortController().signal }, '', 'k');
    expect(clamped.ok ? 'ok' : clamped.error.tag).toBe('unavailable');
    expect(clamped.ok ? '' : clamped.error.reason).toMatch(/no answer within \d{1,3} ms/);
    expect(Date.now()).toBeLessThan(deadline + 1000);
    // An aborted request ends its call at once, with `cancelled`.
    const ctl = new AbortController();
    const pending = kv.increment(scope(60_000, ctl.signal), '', 'n', 1n);
    setTimeout(() => ctl.abort(), 20);
    expect(await pending).toEqual({ ok: false, error: { tag: 'unavailable', reason: 'cancelled' } });
    redis.resume();
    await untilOk(() => kv.get(scope(), '', 'k'), 10_000);
    expect(text(value(await kv.get(scope(), '', 'k')))).toBe('v');
  });
});
