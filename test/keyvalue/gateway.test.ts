/**
 * A guest's keyvalue calls through a real gateway (the kv-probe fixture, praxis:filter@0.2.0):
 * counters across requests, namespaces and bounds, Redis shared by two gateways, and a Redis
 * outage seen by the guest as an `unavailable` value while the gateway keeps answering.
 */
import { describe, expect, it } from 'vitest';
import type { GatewayConfig, KeyValueConfig, PluginKeyValueConfig } from '../../runtime/config/types.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startRedis } from '../helpers/redis.ts';
import { fixturePath, startTestGateway, type TestGateway } from '../helpers/servers.ts';
import { oneRoute } from '../gateway/helpers.ts';
import { sleep } from './helpers.ts';

const track = useCleanup();

function probeConfig(plugin?: PluginKeyValueConfig, keyvalue?: KeyValueConfig): GatewayConfig {
  return {
    ...oneRoute({ probe: { path: fixturePath('kv-probe'), ...(plugin ? { keyvalue: plugin } : {}) } }, ['probe'], { up: 'http://127.0.0.1:9' }),
    ...(keyvalue ? { keyvalue } : {}),
  };
}

/** The probe's answer: one `<op>=<result>` line per call. */
async function probe(gw: TestGateway, headers: Record<string, string> = {}): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${gw.port}/`, { headers });
  expect(res.status).toBe(200);
  return (await res.text()).split('\n').filter((l) => l.length > 0);
}

describe('keyvalue calls from a guest', () => {
  it('a counter lives across requests in the memory store; values round-trip; get returns a counter\'s digits', async () => {
    const gw = track(await startTestGateway(probeConfig()));
    expect(await probe(gw)).toEqual(['get=none', 'incr=1']);
    expect(await probe(gw)).toEqual(['get=1', 'incr=2']);
    expect(await probe(gw, { 'x-kv-ops': 'set,get,del,get,cas-new,cas-new', 'x-kv-key': 's', 'x-kv-value': 'hello' }))
      .toEqual(['set=ok', 'get=hello', 'del=true', 'get=none', 'cas-new=true', 'cas-new=false']);
    const metrics = await gw.metrics();
    expect(metrics).toMatch(/praxis_keyvalue_operations_total\{plugin="probe",op="increment",outcome="ok"\} 2/);
  });

  it('namespaces: an ungranted one is denied, a granted one works; bounds answer limit', async () => {
    const gw = track(await startTestGateway(probeConfig({ namespaces: ['shared'], maxValueBytes: 4 })));
    const [denied] = await probe(gw, { 'x-kv-ops': 'get', 'x-kv-store': 'other' });
    expect(denied).toMatch(/^get=err:denied:/);
    const [forged] = await probe(gw, { 'x-kv-ops': 'get', 'x-kv-store': 'plugin/other' });
    expect(forged).toMatch(/^get=err:denied:/);
    expect(await probe(gw, { 'x-kv-store': 'shared' })).toEqual(['get=none', 'incr=1']);
    const [big] = await probe(gw, { 'x-kv-ops': 'set', 'x-kv-value': '12345' });
    expect(big).toMatch(/^set=err:limit:/);
  });

  it('a reload keeps the store: counters carry on, and the plugin\'s new grants apply; a backend change waits for a restart', async () => {
    const gw = track(await startTestGateway(probeConfig()));
    expect(await probe(gw, { 'x-kv-ops': 'incr' })).toEqual(['incr=1']);
    const [before] = await probe(gw, { 'x-kv-ops': 'incr', 'x-kv-store': 'shared' });
    expect(before).toMatch(/^incr=err:denied:/);
    const outcome = await gw.reload(probeConfig({ namespaces: ['shared'] }, { backend: 'redis' }));
    expect(outcome.ok ? outcome.needsRestart : outcome.error).toContain('keyvalue');
    expect(await probe(gw, { 'x-kv-ops': 'incr' })).toEqual(['incr=2']);
    expect(await probe(gw, { 'x-kv-ops': 'incr', 'x-kv-store': 'shared' })).toEqual(['incr=1']);
  });

  it('redis: two gateways on one Redis count on one counter', async () => {
    const redis = track(await startRedis());
    const kv: KeyValueConfig = { backend: 'redis', redis: { url: redis.url, timeoutMs: 1000 } };
    const a = track(await startTestGateway(probeConfig(undefined, kv)));
    const b = track(await startTestGateway(probeConfig(undefined, kv)));
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) seen.push((await probe(i % 2 ? b : a, { 'x-kv-ops': 'incr' }))[0]!);
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `incr=${i + 1}`));
  });

  it('redis killed: the guest gets unavailable, the gateway keeps answering, and calls succeed once Redis is back', async () => {
    const redis = track(await startRedis());
    const gw = track(await startTestGateway(probeConfig(undefined, { backend: 'redis', redis: { url: redis.url, timeoutMs: 1000 } })));
    expect(await probe(gw, { 'x-kv-ops': 'incr' })).toEqual(['incr=1']);
    await redis.kill();
    await sleep(100);
    const answers = await Promise.all(Array.from({ length: 10 }, () => probe(gw)));
    for (const lines of answers) {
      expect(lines[0]).toMatch(/^get=err:unavailable:/);
      expect(lines[1]).toMatch(/^incr=err:unavailable:/);
    }
    await redis.restart();
    const until = Date.now() + 10_000;
    let last: string[] = [];
    while (Date.now() < until) {
      last = await probe(gw, { 'x-kv-ops': 'incr' });
      if (last[0] === 'incr=1') break;
      await sleep(50);
    }
    // The restarted Redis is empty (no persistence): the counter starts again.
    expect(last).toEqual(['incr=1']);
  });
});
