/**
 * A client lying in its trace context: malformed, oversized or invalid-flag `traceparent`
 * values and a huge `tracestate`. None may crash the gateway or be joined, and what the upstream
 * gets is the gateway's own well-formed traceparent, never the client's raw text.
 */
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TracingHandle, startTracing } from '../../runtime/observability/tracing-setup.ts';
import { startEchoUpstream, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { until } from '../gateway/helpers.ts';

const exporter = new InMemorySpanExporter();
let tracing: TracingHandle;
let upstream: TestServer;
let gw: TestGateway;

beforeAll(async () => {
  tracing = await startTracing(
    { exporter: 'none', endpoint: 'http://127.0.0.1:1/v1/traces', sampler: { kind: 'parentbased_always_on' }, serviceName: 'praxis-rt' },
    { spanExporter: exporter },
  );
  upstream = await startEchoUpstream();
  gw = await startTestGateway({ upstreams: { echo: { endpoints: [upstream.url] } }, routes: [{ name: 'r', upstream: 'echo' }] });
});

afterAll(async () => {
  await gw?.close();
  await tracing?.shutdown();
  await upstream?.close();
});

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';
const WELL_FORMED = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/;

const LIES: Array<[string, string]> = [
  ['upper-case hex', `00-${T.toUpperCase()}-${S.toUpperCase()}-01`],
  ['all-zero trace id', `00-${'0'.repeat(32)}-${S}-01`],
  ['all-zero span id', `00-${T}-${'0'.repeat(16)}-01`],
  ['version ff', `ff-${T}-${S}-01`],
  ['version 00 with a fifth field', `00-${T}-${S}-01-extra`],
  ['non-hex flags', `00-${T}-${S}-zz`],
  ['one-digit flags', `00-${T}-${S}-1`],
  ['short trace id', `00-${T.slice(2)}-${S}-01`],
  ['8 KiB of junk after a valid prefix', `00-${T}-${S}-01${'x'.repeat(8192)}`],
  ['a future version with 8 KiB of extra fields', `01-${T}-${S}-01-${'a'.repeat(8192)}`],
  ['a space inside', `00-${T} -${S}-01`],
];

describe('a lying traceparent', () => {
  for (const [what, value] of LIES) {
    it(`${what}: answered, not joined unless valid, never forwarded raw`, async () => {
      exporter.reset();
      const res = await fetch(`${gw.url}/x`, { headers: { traceparent: value } });
      await res.text();
      expect(res.status).toBe(200);
      await until(() => exporter.getFinishedSpans().some((s) => s.kind === SpanKind.SERVER), 'the server span');
      const server = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER)!;
      const sent = String(upstream.seen.at(-1)!.headers.traceparent);
      expect(sent).toMatch(WELL_FORMED);
      expect(sent).not.toBe(value);
      // Joined only when the value is one the W3C grammar accepts (a future version may carry extra fields).
      if (what !== 'a future version with 8 KiB of extra fields') expect(server.spanContext().traceId, what).not.toBe(T);
      expect(sent.split('-')[1]).toBe(server.spanContext().traceId);
    });
  }

  it('a 100 KB tracestate: refused at the head bound or dropped, never forwarded; the gateway answers on', async () => {
    const big = Array.from({ length: 5000 }, (_, i) => `k${i}=v${'x'.repeat(12)}`).join(',');
    const before = upstream.seen.length;
    const res = await fetch(`${gw.url}/x`, { headers: { traceparent: `00-${T}-${S}-01`, tracestate: big } }).catch(() => undefined);
    if (res) {
      await res.text();
      expect([200, 431]).toContain(res.status);
      if (res.status === 200) expect(String(upstream.seen.at(-1)!.headers.tracestate ?? '').length).toBeLessThanOrEqual(512);
      else expect(upstream.seen.length).toBe(before);
    }
    expect((await fetch(`${gw.url}/x`)).status).toBe(200);
  });
});
