/** The ext_proc face, headers phases: route choice, mutations, rejections, modes, endpoint pick, health. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneRoute, testkit } from '../gateway/helpers.ts';
import { startServer } from '../helpers/servers.ts';
import { EnvoyStream, type TestExtProc, healthCheck, immediateStatus, mutationOf, requestHeaders, responseHeaders, startTestExtProc } from './client.ts';

describe('ext_proc: headers', () => {
  let ep: TestExtProc;
  beforeAll(async () => {
    const config = oneRoute({
      tag: testkit({ name: 'tag', setRequestHeader: ['x-tagged', 'yes'], removeRequestHeader: 'x-secret', setResponseHeader: ['x-resp', 'r'], rejectIfHeader: 'x-deny', upstreamFromHeader: 'x-pick' }),
      other: testkit({ name: 'other', setRequestHeader: ['x-other', '1'] }),
      outer: testkit({ name: 'outer', setResponseHeader: ['x-outer', 'saw-it'] }),
    }, ['tag'], { main: 'http://127.0.0.1:9', pool: 'http://10.0.0.7:8000' });
    config.upstreams.pool = { endpoints: ['http://10.0.0.7:8000', 'http://10.0.0.8:8001', 'http://named.example:80'] };
    config.routes.unshift({ name: 'nested', upstream: 'main', filters: ['outer', 'tag'], match: { pathPrefix: '/nested' } });
    config.routes.unshift({ name: 'v2', upstream: 'main', filters: ['other'], match: { pathPrefix: '/v2', headers: { 'x-tenant': 'b' } } });
    ep = await startTestExtProc(config);
  });
  afterAll(() => ep.close());

  it('runs the request-headers hook and answers with a header mutation and the processing mode', async () => {
    const s = new EnvoyStream(ep.client);
    const r = await s.send(requestHeaders('/x', [['x-secret', 's'], ['x-request-id', 'rid-1']]));
    const m = mutationOf(r.requestHeaders?.response?.headerMutation);
    expect(m.set['x-tagged']).toEqual(['yes']);
    expect(m.remove).toContain('x-secret');
    expect(r.requestHeaders!.response!.headerMutation!.setHeaders!.find((o) => o.header.key === 'x-tagged')!.appendAction).toBe('OVERWRITE_IF_EXISTS_OR_ADD');
    // testkit declares no body modes: Envoy is told not to send bodies, but to send response headers.
    expect(r.modeOverride).toMatchObject({ requestBodyMode: 'NONE', responseBodyMode: 'NONE', responseHeaderMode: 'SEND' });
    const rr = await s.send(responseHeaders(200, [['content-type', 'text/plain']]));
    expect(mutationOf(rr.responseHeaders?.response?.headerMutation).set['x-resp']).toEqual(['r']);
    s.end();
    await new Promise((r) => s.call.on('end', r));
  });

  it('chooses the chain with the gateway route matcher (path prefix and headers)', async () => {
    const s = new EnvoyStream(ep.client);
    const r = await s.send(requestHeaders('/v2/chat', [['x-tenant', 'b']]));
    const set = mutationOf(r.requestHeaders?.response?.headerMutation).set;
    expect(Object.keys(set).sort()).toEqual(['x-other', 'x-request-id']);
    // Envoy sent no x-request-id: the one the hooks saw goes upstream.
    expect(set['x-request-id']![0]).toMatch(/^[0-9a-f-]{36}$/);
    s.end();
    const s2 = new EnvoyStream(ep.client);
    const r2 = await s2.send(requestHeaders('/v2/chat', [['x-tenant', 'a']]));
    expect(mutationOf(r2.requestHeaders?.response?.headerMutation).set['x-tagged']).toEqual(['yes']);
    s2.end();
  });

  it("turns a filter's rejection into an immediate response", async () => {
    const s = new EnvoyStream(ep.client);
    const r = await s.send(requestHeaders('/x', [['x-deny', '1']]));
    expect(immediateStatus(r)).toBe(403);
    expect(Buffer.from(r.immediateResponse!.body!).toString()).toBe('rejected by tag');
    // The response hooks of the filters before it see the rejection (here: none before tag).
    await new Promise((r) => s.call.on('end', r));
  });

  it('a rejection passes through the response hooks of the filters before the rejecting one, as in the gateway', async () => {
    const s = new EnvoyStream(ep.client);
    const r = await s.send(requestHeaders('/nested', [['x-deny', '1']]));
    expect(immediateStatus(r)).toBe(403);
    const set = mutationOf(r.immediateResponse!.headers).set;
    expect(set['x-outer']).toEqual(['saw-it']);
  });

  it("names a filter's chosen upstream to Envoy: x-gateway-destination-endpoint and envoy.lb metadata", async () => {
    const s = new EnvoyStream(ep.client);
    const r = await s.send(requestHeaders('/x', [['x-pick', 'pool']]));
    const list = '10.0.0.7:8000,10.0.0.8:8001';
    expect(mutationOf(r.requestHeaders?.response?.headerMutation).set['x-gateway-destination-endpoint']).toEqual([list]);
    expect(r.dynamicMetadata?.fields['envoy.lb']?.structValue?.fields['x-gateway-destination-endpoint']?.stringValue).toBe(list);
    s.end();
    const s2 = new EnvoyStream(ep.client);
    const r2 = await s2.send(requestHeaders('/x', [['x-pick', 'nowhere']]));
    expect(immediateStatus(r2)).toBe(502);
    expect(JSON.parse(Buffer.from(r2.immediateResponse!.body!).toString()).error.type).toBe('filter_failed');
  });

  it("removes a client's own x-gateway-destination-endpoint (a client must not steer Envoy), unless a filter picks", async () => {
    const s = new EnvoyStream(ep.client);
    const r = await s.send(requestHeaders('/x', [['x-gateway-destination-endpoint', '169.254.169.254:80']]));
    const m = mutationOf(r.requestHeaders?.response?.headerMutation);
    expect(m.remove).toContain('x-gateway-destination-endpoint');
    expect(m.set['x-gateway-destination-endpoint']).toBeUndefined();
    s.end();
    const s2 = new EnvoyStream(ep.client);
    const r2 = await s2.send(requestHeaders('/x', [['x-gateway-destination-endpoint', '169.254.169.254:80'], ['x-pick', 'pool']]));
    const m2 = mutationOf(r2.requestHeaders?.response?.headerMutation);
    expect(m2.set['x-gateway-destination-endpoint']).toEqual(['10.0.0.7:8000,10.0.0.8:8001']);
    expect(m2.remove).not.toContain('x-gateway-destination-endpoint');
    s2.end();
  });

  it('answers 404 with the gateway error body when no route matches, and normalises the path', async () => {
    const config2 = oneRoute({}, [], { main: 'http://127.0.0.1:9' }, { match: { pathPrefix: '/api' } });
    const ep2 = await startTestExtProc(config2);
    try {
      const s = new EnvoyStream(ep2.client);
      const r = await s.send(requestHeaders('/other', [['x-request-id', 'abc']]));
      expect(immediateStatus(r)).toBe(404);
      expect(JSON.parse(Buffer.from(r.immediateResponse!.body!).toString()).error).toMatchObject({ type: 'no_route', requestId: 'abc' });
      const s2 = new EnvoyStream(ep2.client);
      const r2 = await s2.send(requestHeaders('/api//a/./b'));
      expect(mutationOf(r2.requestHeaders?.response?.headerMutation).set[':path']).toEqual(['/api/a/b']);
      s2.end();
    } finally {
      await ep2.close();
    }
  });

  it("takes the request id, attempt and traceparent from Envoy's headers (filters and sub-requests see them)", async () => {
    const seen = await startServer((_req, res) => { res.writeHead(200).end('ok'); });
    const config = oneRoute({
      echo: testkit({ name: 'echo', echo: true }),
      sub: testkit({ name: 'sub', subrequestUrlHeader: 'x-sub' }, { allowedHosts: [`127.0.0.1:${seen.port}`] }),
    }, ['sub', 'echo'], { main: 'http://127.0.0.1:9' });
    const ep2 = await startTestExtProc(config);
    try {
      const trace = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const s = new EnvoyStream(ep2.client);
      const r = await s.send(requestHeaders('/', [['x-request-id', 'rid-9'], ['x-envoy-attempt-count', '3'], ['traceparent', trace], ['x-sub', `${seen.url}/sub`]]));
      const set = mutationOf(r.requestHeaders?.response?.headerMutation).set;
      expect(set['x-echo-request-id']).toEqual(['rid-9']);
      expect(set['x-echo-attempt']).toEqual(['3']);
      expect(set['x-sub-status']).toEqual(['200']);
      expect(seen.seen[0]!.headers['x-request-id']).toBe('rid-9');
      expect(String(seen.seen[0]!.headers.traceparent)).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-/);
      s.end();
    } finally {
      await ep2.close();
      await seen.close();
    }
  });

  it('serves grpc.health.v1 and the gateway metrics on the admin port', async () => {
    expect(await healthCheck(ep.address, '')).toEqual({ status: 1 });
    expect(await healthCheck(ep.address, 'envoy.service.ext_proc.v3.ExternalProcessor')).toEqual({ status: 1 });
    expect((await healthCheck(ep.address, 'nope')) as { code: number }).toMatchObject({ code: 5 });
    const text = await ep.metrics();
    expect(text).toMatch(/praxis_requests_total\{[^}]*route="main"/);
  });
});

describe('ext_proc: health messages', () => {
  it('a long service name round-trips through the hand-written codec', async () => {
    const { decodeCheckRequest, encodeCheckRequest } = await import('../../runtime/extproc/health.ts');
    const service = 'x'.repeat(300);
    expect(decodeCheckRequest(encodeCheckRequest({ service }))).toEqual({ service });
    expect(() => decodeCheckRequest(Buffer.from([0x0a, 0x05, 0x61]))).toThrow(/truncated/);
  });
});
