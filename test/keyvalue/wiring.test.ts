/**
 * The store as the front doors assemble it (buildChains): one store per gateway, a view per
 * plugin with its grants and bounds, every call counted in the metrics.
 */
import { describe, expect, it } from 'vitest';
import { buildChains } from '../../runtime/gateway/chains.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startRedis } from '../helpers/redis.ts';
import { oneRoute, testkit } from '../gateway/helpers.ts';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { bytes, scope, silent, text, value } from './helpers.ts';

const track = useCleanup();

function config(extra: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    ...oneRoute({
      a: testkit({}, { keyvalue: { namespaces: ['shared'], maxValueBytes: 8 } }),
      b: testkit({}, { keyvalue: { namespaces: ['shared'] } }),
    }, ['a', 'b'], { up: 'http://127.0.0.1:9' }),
    ...extra,
  };
}

const open = (cfg: GatewayConfig) => buildChains(cfg, silent, { baseDir: process.cwd(), admin: false, configView: () => cfg });

describe('key-value store in the assembled chains', () => {
  it('every plugin gets a view of one memory store, with its own grants and bounds, counted in the metrics', async () => {
    const chains = track(await open(config()));
    const a = chains.filters.get('a')!.keyvalue!;
    const b = chains.filters.get('b')!.keyvalue!;
    value(await a.set(scope(), 'shared', 'k', bytes('hello')));
    expect(text(value(await b.get(scope(), 'shared', 'k')))).toBe('hello');
    expect(value(await b.get(scope(), '', 'k'))).toBeUndefined();
    const tooBig = await a.set(scope(), '', 'k', bytes('123456789'));
    expect(tooBig.ok ? 'ok' : tooBig.error.tag).toBe('limit');
    const metrics = await chains.metrics.text();
    expect(metrics).toMatch(/praxis_keyvalue_operations_total\{plugin="a",op="set",outcome="ok"\} 1/);
    expect(metrics).toMatch(/praxis_keyvalue_operations_total\{plugin="a",op="set",outcome="limit"\} 1/);
    expect(metrics).toMatch(/praxis_keyvalue_operations_total\{plugin="b",op="get",outcome="ok"\} 2/);
    expect(metrics).toMatch(/praxis_keyvalue_operation_duration_seconds_count\{plugin="b",op="get"\} 2/);
  });

  it('the redis backend is used when configured: two gateways on one Redis share a counter', async () => {
    const redis = track(await startRedis());
    const cfg = config({ keyvalue: { backend: 'redis', redis: { url: redis.url, keyPrefix: 'wiring:' } } });
    const chains = track(await open(cfg));
    expect(chains.keyvalue.backend.kind).toBe('redis');
    const a = chains.filters.get('a')!.keyvalue!;
    expect(value(await a.increment(scope(), '', 'n', 2n))).toBe(2n);
    // A second gateway on the same Redis sees the same counter.
    const other = track(await open(cfg));
    expect(value(await other.filters.get('a')!.keyvalue!.increment(scope(), '', 'n', 1n))).toBe(3n);
  });
});
