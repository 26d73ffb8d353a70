/** The same spans under ext_proc: a server span per processed request joined to Envoy's traceparent, hook spans under it. */
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TracingHandle, startTracing } from '../../runtime/observability/tracing-setup.ts';
import { EnvoyStream, type TestExtProc, immediateStatus, requestHeaders, responseHeaders, startTestExtProc } from '../extproc/client.ts';
import { oneRoute, testkit, until } from '../gateway/helpers.ts';

const exporter = new InMemorySpanExporter();
let tracing: TracingHandle;
let ep: TestExtProc;
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT = 'b7ad6b7169203331';

beforeAll(async () => {
  tracing = await startTracing(
    { exporter: 'none', endpoint: 'http://127.0.0.1:1/v1/traces', sampler: { kind: 'parentbased_always_on' }, serviceName: 'praxis-extproc-test' },
    { spanExporter: exporter },
  );
  ep = await startTestExtProc(oneRoute({
    tag: testkit({ name: 'tag', setRequestHeader: ['x-tagged', 'yes'], rejectIfHeader: 'x-deny' }),
  }, ['tag'], { main: 'http://127.0.0.1:9' }));
});

afterAll(async () => {
  ep?.close();
  await tracing?.shutdown();
});

afterEach(() => exporter.reset());

const server = () => exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER);

describe('ext_proc spans', () => {
  it("a processed request: server span under Envoy's traceparent, its hook spans under it", async () => {
    const s = new EnvoyStream(ep.client);
    await s.send(requestHeaders('/x', [['traceparent', `00-${TRACE}-${PARENT}-01`], ['x-request-id', 'ep-1']]));
    await s.send(responseHeaders(200, []));
    s.end();
    await until(() => server() !== undefined, 'the server span');
    const root = server()!;
    expect(root.spanContext().traceId).toBe(TRACE);
    expect(root.parentSpanContext?.spanId).toBe(PARENT);
    expect(root.attributes).toMatchObject({ 'praxis.route': 'main', 'praxis.request_id': 'ep-1', 'http.response.status_code': 200 });
    const hooks = exporter.getFinishedSpans().filter((x) => x.kind === SpanKind.INTERNAL);
    expect(hooks.map((h) => h.attributes['praxis.hook'])).toEqual(expect.arrayContaining(['on-request-headers', 'on-response-headers']));
    for (const h of hooks) {
      expect(h.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
      expect(h.attributes).toMatchObject({ 'praxis.plugin': 'tag', 'praxis.decision': 'continue' });
    }
  });

  it("a filter's rejection: its hook span says reject, the server span the status", async () => {
    const s = new EnvoyStream(ep.client);
    const r = await s.send(requestHeaders('/x', [['x-deny', '1']]));
    expect(immediateStatus(r)).toBe(403);
    await until(() => server() !== undefined, 'the server span');
    expect(server()!.attributes['http.response.status_code']).toBe(403);
    const hook = exporter.getFinishedSpans().find((x) => x.attributes['praxis.hook'] === 'on-request-headers')!;
    expect(hook.attributes['praxis.decision']).toBe('reject');
  });
});
