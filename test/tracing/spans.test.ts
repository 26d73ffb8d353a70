/**
 * The span tree of one request through two filters (request-headers, then guardrail calling a
 * loopback scanner) to an echo upstream, captured by an in-memory exporter; and the traceparents
 * the scanner and the upstream receive, which must name those spans.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TracingHandle, startTracing } from '../../runtime/observability/tracing-setup.ts';
import { pluginPath, startEchoUpstream, startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { testkit, until } from '../gateway/helpers.ts';

const exporter = new InMemorySpanExporter();
let tracing: TracingHandle;
let upstream: TestServer;
let scanner: TestServer;
let gw: TestGateway;

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

beforeAll(async () => {
  tracing = await startTracing(
    { exporter: 'none', endpoint: 'http://127.0.0.1:1/v1/traces', sampler: { kind: 'parentbased_always_on' }, serviceName: 'praxis-test' },
    { spanExporter: exporter },
  );
  upstream = await startEchoUpstream();
  scanner = await startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"verdict":"allow"}');
  });
  gw = await startTestGateway({
    plugins: {
      headers: { path: pluginPath('request-headers'), config: { set: { 'x-traced': 'yes' } } },
      trapper: testkit({ name: 'trapper', trapIfHeader: 'x-trap' }, { failure: 'closed' }),
      'trapper-open': testkit({ name: 'trapper-open', trapIfHeader: 'x-trap' }, { failure: 'open' }),
      guard: {
        path: pluginPath('guardrail'),
        config: { scannerUrl: `${scanner.url}/scan`, failMode: 'closed', timeoutMs: 2000 },
        allowedHosts: [`127.0.0.1:${scanner.port}`],
      },
    },
    upstreams: { echo: { endpoints: [upstream.url] } },
    routes: [
      { name: 'trap', match: { pathPrefix: '/trap' }, upstream: 'echo', filters: ['trapper'] },
      { name: 'trap-open', match: { pathPrefix: '/trap-open' }, upstream: 'echo', filters: ['trapper-open'] },
      { name: 'chat', upstream: 'echo', filters: ['headers', 'guard'] },
    ],
  });
});

afterAll(async () => {
  await gw?.close();
  await tracing?.shutdown();
  await Promise.all([upstream?.close(), scanner?.close()]);
});

afterEach(() => exporter.reset());

const chat = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Write a haiku about the sea' }] });

async function post(headers: Record<string, string> = {}): Promise<Response> {
  const r = await fetch(`${gw.url}/v1/chat/completions?x=1`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'req-traced-1', ...headers }, body: chat,
  });
  await r.text();
  return r;
}

/** The finished spans once the server span (the last to end) is among them. */
async function spans(): Promise<{ all: ReadableSpan[]; server: ReadableSpan }> {
  await until(() => exporter.getFinishedSpans().some((s) => s.kind === SpanKind.SERVER), 'the server span');
  const all = exporter.getFinishedSpans();
  return { all, server: all.find((s) => s.kind === SpanKind.SERVER)! };
}

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const idOf = (s: ReadableSpan) => s.spanContext().spanId;
const traceparentParts = (v: unknown) => String(v).split('-');

describe('spans of one request', () => {
  it('one server span; hook spans under it; the sub-request under its hook; the upstream call under it', async () => {
    const r = await post();
    expect(r.status).toBe(200);
    const { all, server } = await spans();
    expect(all.filter((s) => s.kind === SpanKind.SERVER)).toHaveLength(1);
    expect(server.name).toBe('POST chat');
    expect(server.attributes).toMatchObject({
      'http.request.method': 'POST', 'url.path': '/v1/chat/completions', 'praxis.route': 'chat',
      'http.response.status_code': 200, 'praxis.request_id': 'req-traced-1',
    });
    expect(server.resource.attributes['service.name']).toBe('praxis-test');

    const hooks = all.filter((s) => s.kind === SpanKind.INTERNAL);
    expect(hooks.length).toBeGreaterThanOrEqual(2);
    for (const h of hooks) {
      expect(parentOf(h)).toBe(idOf(server));
      expect(h.spanContext().traceId).toBe(server.spanContext().traceId);
    }
    const headersHook = hooks.find((h) => h.attributes['praxis.plugin'] === 'headers' && h.attributes['praxis.hook'] === 'on-request-headers');
    expect(headersHook?.attributes['praxis.decision']).toBe('continue');

    const clients = all.filter((s) => s.kind === SpanKind.CLIENT);
    const sub = clients.find((s) => s.attributes['praxis.plugin'] === 'guard')!;
    expect(sub).toBeDefined();
    const caller = hooks.find((h) => idOf(h) === parentOf(sub))!;
    expect(caller.attributes).toMatchObject({ 'praxis.plugin': 'guard', 'praxis.decision': 'continue' });
    expect(sub.attributes).toMatchObject({
      'server.address': '127.0.0.1', 'praxis.outcome': 'ok', 'praxis.attempt': 1, 'http.response.status_code': 200,
    });
    expect(sub.attributes['http.request.body.size']).toBeGreaterThan(0);
    expect(sub.attributes['http.response.body.size']).toBe('{"verdict":"allow"}'.length);

    const up = clients.find((s) => s.attributes['praxis.upstream'] === 'echo')!;
    expect(up).toBeDefined();
    expect(parentOf(up)).toBe(idOf(server));
    expect(up.attributes).toMatchObject({ 'praxis.attempt': 1, 'http.response.status_code': 200, 'server.address': '127.0.0.1' });

    // What went out on the wire names the spans, not the server span or a fresh id.
    const [, scannerTrace, scannerSpan] = traceparentParts(scanner.seen.at(-1)!.headers.traceparent);
    expect(scannerTrace).toBe(server.spanContext().traceId);
    expect(scannerSpan).toBe(idOf(sub));
    const [, upTrace, upSpan, upFlags] = traceparentParts(upstream.seen.at(-1)!.headers.traceparent);
    expect(upTrace).toBe(server.spanContext().traceId);
    expect(upSpan).toBe(idOf(up));
    expect(upFlags).toBe('01');
    expect(upstream.seen.at(-1)!.headers['x-processor-attempt']).toBe('1');
  });

  it("joins the client's traceparent: same trace, the client's span as the server span's parent", async () => {
    await post({ traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, tracestate: 'vendor=1' });
    const { all, server } = await spans();
    expect(parentOf(server)).toBe(CLIENT_SPAN);
    for (const s of all) expect(s.spanContext().traceId).toBe(CLIENT_TRACE);
    const up = all.find((s) => s.attributes['praxis.upstream'] === 'echo')!;
    const seen = upstream.seen.at(-1)!.headers;
    expect(seen.traceparent).toBe(`00-${CLIENT_TRACE}-${idOf(up)}-01`);
    expect(seen.tracestate).toBe('vendor=1');
  });

  it('a hook that traps: its span says so; failing closed the request fails, failing open it continues', async () => {
    const closed = await fetch(`${gw.url}/trap/x`, { headers: { 'x-trap': '1' } });
    await closed.text();
    expect(closed.status).toBe(500);
    let { all, server } = await spans();
    let hook = all.find((s) => s.attributes['praxis.plugin'] === 'trapper')!;
    expect(hook.attributes).toMatchObject({ 'praxis.failure': 'trap', 'praxis.decision': 'fail' });
    expect(hook.status.code).toBe(SpanStatusCode.ERROR);
    expect(server.attributes['http.response.status_code']).toBe(500);
    expect(server.status.code).toBe(SpanStatusCode.ERROR);
    exporter.reset();
    const open = await fetch(`${gw.url}/trap-open/x`, { headers: { 'x-trap': '1' } });
    await open.text();
    expect(open.status).toBe(200);
    ({ all, server } = await spans());
    hook = all.find((s) => s.attributes['praxis.plugin'] === 'trapper-open' && s.attributes['praxis.hook'] === 'on-request-headers')!;
    expect(hook.attributes).toMatchObject({ 'praxis.failure': 'trap', 'praxis.decision': 'continue' });
    expect(server.attributes['http.response.status_code']).toBe(200);
  });

  it('a refused request still gets its server span, with the status it got', async () => {
    const r = await fetch(`${gw.url}/%2Fetc`, { headers: { 'x-request-id': 'refused-1' } });
    await r.text();
    expect(r.status).toBe(400);
    const { all, server } = await spans();
    expect(all).toHaveLength(1);
    expect(server.attributes).toMatchObject({ 'http.response.status_code': 400, 'praxis.request_id': 'refused-1' });
  });
});
