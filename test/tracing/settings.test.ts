/** How the config's `tracing` block and the `OTEL_*` variables decide the tracing settings: the config wins, key by key. */
import { describe, expect, it } from 'vitest';
import { TracingSettingsError, tracingSettings } from '../../runtime/observability/tracing-setup.ts';
import { validateConfig } from '../../runtime/config/load.ts';
import { configProblems as problems } from '../gateway/helpers.ts';

const base = { upstreams: { u: { endpoints: ['http://127.0.0.1:9'] } }, routes: [{ name: 'r', upstream: 'u' }] };

describe('tracing settings', () => {
  it('off by default: no config block, no OTEL_* variables', () => {
    expect(tracingSettings(undefined, {})).toBeUndefined();
    expect(tracingSettings({}, {})).toBeUndefined();
  });

  it('the config alone switches it on, with safe defaults', () => {
    expect(tracingSettings({ enabled: true }, {})).toEqual({
      exporter: 'otlp', endpoint: 'http://localhost:4318/v1/traces',
      sampler: { kind: 'parentbased_always_on' }, serviceName: 'praxis-wasm',
    });
  });

  it('the standard variables switch it on and fill the settings', () => {
    expect(tracingSettings(undefined, { OTEL_TRACES_EXPORTER: 'console' })?.exporter).toBe('console');
    expect(tracingSettings(undefined, { OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/', OTEL_SERVICE_NAME: 'edge',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25',
    };
    expect(tracingSettings(undefined, env)).toEqual({
      exporter: 'otlp', endpoint: 'http://collector:4318/v1/traces',
      sampler: { kind: 'parentbased_traceidratio', ratio: 0.25 }, serviceName: 'edge',
    });
    // The signal-specific endpoint is a full URL, used as given.
    expect(tracingSettings(undefined, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:1/custom' })?.endpoint).toBe('http://c:1/custom');
  });

  it('the config wins over each variable, and enabled: false over all of them', () => {
    const env = { OTEL_TRACES_EXPORTER: 'console', OTEL_SERVICE_NAME: 'env-name', OTEL_TRACES_SAMPLER: 'always_off', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318' };
    expect(tracingSettings({ enabled: true, exporter: 'otlp', serviceName: 'cfg', sampleRatio: 0.5, endpoint: 'http://cfg:4318' }, env)).toEqual({
      exporter: 'otlp', endpoint: 'http://cfg:4318/v1/traces', sampler: { kind: 'parentbased_traceidratio', ratio: 0.5 }, serviceName: 'cfg',
    });
    expect(tracingSettings({ enabled: false }, env)).toBeUndefined();
  });

  it('OTEL_SDK_DISABLED=true turns it off unless the config enables it', () => {
    const env = { OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' };
    expect(tracingSettings(undefined, env)).toBeUndefined();
    expect(tracingSettings({ enabled: true }, env)?.exporter).toBe('otlp');
  });

  it('a bad variable is refused by name', () => {
    expect(() => tracingSettings(undefined, { OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow(TracingSettingsError);
    expect(() => tracingSettings(undefined, { OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow(/OTEL_TRACES_EXPORTER/);
    expect(() => tracingSettings({ enabled: true }, { OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER:/);
    expect(() => tracingSettings({ enabled: true }, { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
  });

  it('the config block is checked by the schema, naming the key', () => {
    expect(validateConfig({ ...base, tracing: { enabled: true, exporter: 'otlp', sampleRatio: 0.1 } }).tracing?.sampleRatio).toBe(0.1);
    expect(problems({ ...base, tracing: { sampleRatio: 2 } }).join('\n')).toMatch(/tracing\.sampleRatio/);
    expect(problems({ ...base, tracing: { exporter: 'jaeger' } }).join('\n')).toMatch(/tracing\.exporter/);
    expect(problems({ ...base, tracing: { endpoint: 'collector:4318' } }).join('\n')).toMatch(/tracing\.endpoint/);
    expect(problems({ ...base, tracing: { bogus: 1 } }).join('\n')).toMatch(/tracing\.bogus/);
  });
});
