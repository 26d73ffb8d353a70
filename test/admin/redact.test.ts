/** The /config redaction rule on its own (docs/config.md#admin-endpoints), case by case. */
import { describe, expect, it } from 'vitest';
import { REDACTED, redactConfig } from '../../runtime/gateway/admin-redact.ts';

describe('redactConfig', () => {
  it('hides a plugin config given as raw text whole: it cannot be read key by key', () => {
    const out = redactConfig({ plugins: { p: { path: '/p.wasm', config: 'api_key=sk-1' } } }) as { plugins: { p: { config: unknown; path: string } } };
    expect(out.plugins.p).toEqual({ path: '/p.wasm', config: REDACTED });
  });

  it('applies the key rule only where secrets live: the runtime\'s own keys stay visible', () => {
    const config = { limits: { maxContextKeys: 64 }, plugins: { p: { path: '/p.wasm', limits: { maxContextKeys: 8 }, config: { maxKeys: 3, keep: 1 } } } };
    expect(redactConfig(config)).toEqual({ limits: { maxContextKeys: 64 }, plugins: { p: { path: '/p.wasm', limits: { maxContextKeys: 8 }, config: { maxKeys: REDACTED, keep: 1 } } } });
  });

  it('hides credential-looking strings and URL passwords anywhere, and leaves other URLs alone', () => {
    const out = redactConfig({
      upstreams: { a: { endpoints: ['https://svc:pw@10.0.0.1:8443', 'http://10.0.0.2:8000/x?y=1'] } },
      plugins: { p: { path: '/p.wasm', config: { list: ['Basic dXNlcjpwYXNz', 'plain'], deep: { deeper: ['Bearer t'] } } } },
    });
    expect(out).toEqual({
      upstreams: { a: { endpoints: [`https://svc:${REDACTED}@10.0.0.1:8443`, 'http://10.0.0.2:8000/x?y=1'] } },
      plugins: { p: { path: '/p.wasm', config: { list: [REDACTED, 'plain'], deep: { deeper: [REDACTED] } } } },
    });
  });

  it('does not change the config it was given', () => {
    const config = { plugins: { p: { path: '/p.wasm', config: { token: 't' } } } };
    redactConfig(config);
    expect(config.plugins.p.config.token).toBe('t');
  });
});
