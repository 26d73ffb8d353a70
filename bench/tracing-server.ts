/**
 * The benchmark's wasm-chain gateway in its own process with tracing `off`, `noop` (every request
 * sampled, its spans built and dropped) or `otlp` (exported in batches to the collector URL given).
 * Arguments: mode, upstream origin, collector origin. Reports its port over IPC.
 */
import { pino } from 'pino';
import { startGateway } from '../runtime/gateway/gateway.ts';
import { startTracing } from '../runtime/observability/tracing-setup.ts';
import { wasmConfig } from './servers/filter-chain.ts';

const [mode, upstream, collector] = [process.argv[2], process.argv[3]!, process.argv[4] ?? 'http://127.0.0.1:4318'];
if (mode !== 'off') {
  await startTracing({
    exporter: mode === 'otlp' ? 'otlp' : 'none', endpoint: `${collector}/v1/traces`,
    sampler: { kind: 'parentbased_always_on' }, serviceName: 'praxis-bench',
  });
}
const gw = await startGateway(wasmConfig(upstream, true), { logger: pino({ level: 'silent' }) });
process.send!({ port: Number(new URL(gw.url).port) });
process.on('disconnect', () => process.exit(0));
