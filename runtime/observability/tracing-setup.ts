/**
 * Switches tracing on: works out the settings from the config's `tracing` block and the standard
 * `OTEL_*` variables (the config wins, key by key), then loads the OpenTelemetry SDK (dynamic
 * imports: a gateway with tracing off never loads it) and hands its tracer to tracing.ts.
 */
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '../config/types.ts';
import { installTracer } from './tracing.ts';

export type TracingExporter = 'otlp' | 'console' | 'none';

export type SamplerSetting =
  | { kind: 'always_on' | 'always_off' | 'parentbased_always_on' | 'parentbased_always_off' }
  | { kind: 'traceidratio' | 'parentbased_traceidratio'; ratio: number };

export interface TracingSettings {
  exporter: TracingExporter;
  /** The OTLP/HTTP traces URL (`.../v1/traces`). */
  endpoint: string;
  sampler: SamplerSetting;
  serviceName: string;
}

/** A bad `OTEL_*` value: named, so the operator knows which variable to fix. */
export class TracingSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TracingSettingsError';
  }
}

const EXPORTERS: ReadonlySet<string> = new Set(['otlp', 'console', 'none']);
const SAMPLERS: ReadonlySet<string> = new Set([
  'always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio',
]);
const DEFAULT_ENDPOINT = 'http://localhost:4318';
/** The longest a stop waits for the last spans to be exported. */
const SHUTDOWN_EXPORT_MS = 3000;

type Env = Record<string, string | undefined>;

function set(v: string | undefined): v is string {
  return v !== undefined && v.trim() !== '';
}

/** A base URL gets the traces path, as OTEL_EXPORTER_OTLP_ENDPOINT does; a full traces URL is kept. */
function tracesUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/v1/traces') ? trimmed : `${trimmed}/v1/traces`;
}

function envSampler(env: Env): SamplerSetting {
  const name = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  if (!SAMPLERS.has(name)) throw new TracingSettingsError(`OTEL_TRACES_SAMPLER: "${name}" is not one of ${[...SAMPLERS].join(', ')}`);
  if (name !== 'traceidratio' && name !== 'parentbased_traceidratio') return { kind: name as 'always_on' };
  const arg = env.OTEL_TRACES_SAMPLER_ARG;
  const ratio = set(arg) ? Number(arg) : 1;
  if (!(ratio >= 0 && ratio <= 1)) throw new TracingSettingsError(`OTEL_TRACES_SAMPLER_ARG: "${arg}" is not a ratio between 0 and 1`);
  return { kind: name, ratio };
}

/**
 * The effective settings, or undefined when tracing is off. Off unless the config says
 * `enabled: true`, or (with no `enabled` in the config) the environment names an exporter or an
 * OTLP endpoint; `enabled: false` and `OTEL_SDK_DISABLED=true` (without `enabled: true`) turn it off.
 */
export function tracingSettings(config: TracingConfig | undefined, env: Env = process.env): TracingSettings | undefined {
  const envExporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (set(envExporter) && !EXPORTERS.has(envExporter)) {
    throw new TracingSettingsError(`OTEL_TRACES_EXPORTER: "${envExporter}" is not one of otlp, console, none`);
  }
  const envEndpoint = set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.trim()
    : set(env.OTEL_EXPORTER_OTLP_ENDPOINT) ? tracesUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT.trim()) : undefined;
  let on: boolean;
  if (config?.enabled !== undefined) on = config.enabled;
  else if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') on = false;
  else on = (set(envExporter) && envExporter !== 'none') || envEndpoint !== undefined;
  if (!on) return undefined;
  const exporter = config?.exporter ?? (set(envExporter) ? envExporter as TracingExporter : 'otlp');
  const endpoint = config?.endpoint !== undefined ? tracesUrl(config.endpoint) : envEndpoint ?? tracesUrl(DEFAULT_ENDPOINT);
  const sampler: SamplerSetting = config?.sampleRatio !== undefined
    ? { kind: 'parentbased_traceidratio', ratio: config.sampleRatio }
    : envSampler(env);
  const serviceName = config?.serviceName ?? (set(env.OTEL_SERVICE_NAME) ? env.OTEL_SERVICE_NAME.trim() : 'praxis-wasm');
  return { exporter, endpoint, sampler, serviceName };
}

export interface TracingHandle {
  readonly settings: TracingSettings;
  /** Exports what is buffered. */
  flush(): Promise<void>;
  /** Exports what is buffered (waiting at most 3 s; undeliverable spans are dropped), then switches spans off. */
  shutdown(): Promise<void>;
}

/**
 * Loads the SDK and switches spans on with `settings`. `spanExporter` replaces the configured
 * exporter (tests: an in-memory one, exported span by span as each ends).
 */
export async function startTracing(settings: TracingSettings, opts: { spanExporter?: SpanExporter } = {}): Promise<TracingHandle> {
  const [sdk, resources, core] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
  ]);
  const s = settings.sampler;
  const root = s.kind === 'always_off' || s.kind === 'parentbased_always_off' ? new sdk.AlwaysOffSampler()
    : 'ratio' in s ? new sdk.TraceIdRatioBasedSampler(s.ratio) : new sdk.AlwaysOnSampler();
  const sampler = s.kind.startsWith('parentbased_') ? new sdk.ParentBasedSampler({ root }) : root;
  let processor;
  if (opts.spanExporter) processor = new sdk.SimpleSpanProcessor(opts.spanExporter);
  else if (settings.exporter === 'none') processor = new sdk.NoopSpanProcessor();
  else if (settings.exporter === 'console') processor = new sdk.BatchSpanProcessor(new sdk.ConsoleSpanExporter());
  else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    processor = new sdk.BatchSpanProcessor(new OTLPTraceExporter({ url: settings.endpoint }));
  }
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': settings.serviceName }),
    sampler,
    spanProcessors: [processor],
  });
  installTracer({ tracer: provider.getTracer('praxis-wasm'), propagator: new core.W3CTraceContextPropagator() });
  return {
    settings,
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      installTracer(null);
      // Spans that cannot be delivered are lost, not a failed stop: a collector that is down or
      // slow gets a bounded last try, and the process exits whatever it answered.
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((r) => { timer = setTimeout(r, SHUTDOWN_EXPORT_MS); });
      await Promise.race([provider.shutdown().catch(() => {}), bound]);
      clearTimeout(timer);
    },
  };
}

/** Tracing as the config and the environment ask for it: started, or undefined (nothing loaded) when off. */
export async function tracingFromConfig(config: TracingConfig | undefined, env: Env = process.env): Promise<TracingHandle | undefined> {
  const settings = tracingSettings(config, env);
  return settings === undefined ? undefined : startTracing(settings);
}
