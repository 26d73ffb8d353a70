/**
 * The rate-limit and token-budget plugins take their windows from the `clock` import: moving the
 * test kit's clock by a window gives a key its limit back, with no real wait; within a window the
 * limit holds however long the real time between runs.
 */
import { describe, expect, it } from 'vitest';
import { loadFilter } from '../../runtime/testing/index.ts';
import { pluginPath } from '../helpers/servers.ts';

/** The start of a minute, so a window's end is exactly one advance away. */
const T0 = 1_700_000_040_000;

describe('rate-limit windows on the test kit clock', () => {
  for (const algorithm of ['fixed', 'sliding', 'token-bucket']) {
    it(`${algorithm}: over the limit, then allowed once the clock moves past the window`, async () => {
      await using filter = await loadFilter(pluginPath('rate-limit'), {
        config: { limit: 2, windowSeconds: 60, algorithm, keyFrom: 'header', keyName: 'x-api-key' },
        clock: { nowMs: T0 },
      });
      const status = async () => {
        const r = await filter.run({ request: { headers: { 'x-api-key': 'alice' } } });
        return r.rejected?.status ?? 200;
      };
      expect([await status(), await status(), await status()]).toEqual([200, 200, 429]);
      const over = await filter.run({ request: { headers: { 'x-api-key': 'alice' } } });
      // Retry-After is counted on the plugin's clock: at most two windows (sliding) from T0.
      expect(Number(over.rejected?.headers.find(([n]) => n === 'retry-after')?.[1])).toBeLessThanOrEqual(120);
      filter.clock.advance(30_000);
      if (algorithm === 'fixed') expect(await status()).toBe(429); // same fixed window
      filter.clock.advance(90_000); // two windows on: every algorithm has forgotten the count
      expect([await status(), await status(), await status()]).toEqual([200, 200, 429]);
    });
  }
});

describe('token-budget windows on the test kit clock', () => {
  it('a spent budget comes back in the next window', async () => {
    await using filter = await loadFilter(pluginPath('token-budget'), {
      config: { budget: 10, windowSeconds: 60, keyFrom: 'header', keyName: 'x-user' },
      clock: { nowMs: T0 },
    });
    const exchange = () => filter.run({
      request: { headers: { 'x-user': 'u' } },
      response: { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ usage: { total_tokens: 50 } }) },
    });
    expect((await exchange()).rejected).toBeUndefined(); // charged 50 > 10: spent
    expect((await exchange()).rejected?.status).toBe(429);
    filter.clock.advance(60_000);
    expect((await exchange()).rejected).toBeUndefined();
  });
});
