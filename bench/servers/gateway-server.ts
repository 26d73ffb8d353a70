/**
 * One benchmarked gateway in its own process, so its CPU time is its own: `no-filter` or
 * `wasm-3-filters` (startGateway) or `js-3-filters` (the same pipeline around plain-JS filters).
 * Arguments: kind, upstream origin. Reports its port over IPC, then answers `guest-calls` with the
 * number of hook calls the gateway has timed (praxis_filter_hook_duration_seconds counts).
 */
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import { startGateway } from '../../runtime/gateway/gateway.ts';
import { wasmConfig } from './filter-chain.ts';
import { startJsGateway } from './js-gateway.ts';

const [kind, upstream] = [process.argv[2], process.argv[3]!];
let registry: Registry | undefined;
let url: string;
if (kind === 'js-3-filters') {
  ({ url } = await startJsGateway(upstream));
} else if (kind === 'no-filter' || kind === 'wasm-3-filters') {
  const gw = await startGateway(wasmConfig(upstream, kind === 'wasm-3-filters'), { logger: pino({ level: 'silent' }) });
  ({ url } = gw);
  registry = gw.metricsRegistry;
} else {
  throw new Error(`unknown gateway kind ${kind}`);
}

/** Hook calls so far; undefined when the gateway does not count them. */
async function guestCalls(): Promise<number | undefined> {
  const metric = (await registry?.getMetricsAsJSON())?.find((m) => m.name === 'praxis_filter_hook_duration_seconds');
  // A histogram's JSON holds its buckets, sum and count as values told apart by metricName.
  const values = (metric?.values ?? []) as Array<{ value: number; metricName?: string }>;
  const counts = values.filter((v) => v.metricName === 'praxis_filter_hook_duration_seconds_count');
  return counts.length ? counts.reduce((a, v) => a + v.value, 0) : undefined;
}

process.on('message', (m) => {
  if (m === 'guest-calls') void guestCalls().then((n) => process.send!({ guestCalls: n ?? null }));
});
process.send!({ port: Number(new URL(url).port) });
process.on('disconnect', () => process.exit(0));
