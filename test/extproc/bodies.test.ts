/** The ext_proc face, body phases: each body mode, replaced bodies, streamed and host-held chunks. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { guestLines, oneRoute, testkit } from '../gateway/helpers.ts';
import { EnvoyStream, type TestExtProc, body, immediateStatus, mutationOf, requestHeaders, responseHeaders, startTestExtProc } from './client.ts';

function route(path: string, filters: string[]): GatewayConfig['routes'][number] {
  return { name: path.slice(1), upstream: 'main', filters, match: { pathPrefix: path } };
}

describe('ext_proc: bodies', () => {
  let ep: TestExtProc;
  beforeAll(async () => {
    const config = oneRoute({
      upper: testkit({ name: 'upper', requestBody: 'buffer:1000', upperCaseBody: 'request' }),
      big: testkit({ name: 'big', requestBody: 'buffer:100000', upperCaseBody: 'request' }),
      stream: testkit({ name: 'stream', requestBody: 'stream', logChunks: true }),
      upresp: testkit({ name: 'upresp', responseBody: 'buffer:1000', upperCaseBody: 'response' }),
    }, [], { main: 'http://127.0.0.1:9' });
    config.routes = [route('/buffered', ['upper']), route('/held', ['big']), route('/streamed', ['stream']), route('/response', ['upresp'])];
    // Envoy's buffer is smaller than big's: that body is streamed to the service and held here.
    config.extproc = { envoyBufferBytes: 10_000 };
    ep = await startTestExtProc(config);
  });
  afterAll(() => ep.close());

  it('stream-buffer within Envoy\'s buffer: BUFFERED, one message, the replaced body as a body mutation', async () => {
    const s = new EnvoyStream(ep.client);
    const h = await s.send(requestHeaders('/buffered', [['content-length', '5']], { method: 'POST', endOfStream: false }));
    expect(h.modeOverride).toMatchObject({ requestBodyMode: 'BUFFERED', requestTrailerMode: 'SKIP' });
    expect(mutationOf(h.requestHeaders?.response?.headerMutation).remove).not.toContain('content-length');
    const b = await s.send(body('request', 'hello', true));
    expect(Buffer.from(b.requestBody!.response!.bodyMutation!.body!).toString()).toBe('HELLO');
    s.end();
  });

  it('BUFFERED: the one body message is the end even when trailers follow (end_of_stream false)', async () => {
    const s = new EnvoyStream(ep.client);
    await s.send(requestHeaders('/buffered', [], { method: 'POST', endOfStream: false }));
    const b = await s.send(body('request', 'with trailers', false));
    expect(Buffer.from(b.requestBody!.response!.bodyMutation!.body!).toString()).toBe('WITH TRAILERS');
    const t = await s.send({ requestTrailers: { trailers: { headers: [{ key: 'grpc-status', rawValue: Buffer.from('0') }] } } });
    expect(t.requestTrailers).toBeDefined();
    s.end();
  });

  it("stream-buffer beyond Envoy's buffer: STREAMED, the host holds the chunks and answers the last with all of it", async () => {
    const s = new EnvoyStream(ep.client);
    const h = await s.send(requestHeaders('/held', [['content-length', '6']], { method: 'POST', endOfStream: false }));
    expect(h.modeOverride?.requestBodyMode).toBe('STREAMED');
    // A body the service may change cannot keep the client's length.
    expect(mutationOf(h.requestHeaders?.response?.headerMutation).remove).toContain('content-length');
    const a = await s.send(body('request', 'abc', false));
    expect(a.requestBody?.response?.bodyMutation).toMatchObject({ clearBody: true });
    const c = await s.send(body('request', 'def', true));
    expect(Buffer.from(c.requestBody!.response!.bodyMutation!.body!).toString()).toBe('ABCDEF');
    s.end();
  });

  it('a held STREAMED body that ends with trailers fails the request instead of losing the held bytes', async () => {
    const s = new EnvoyStream(ep.client);
    const h = await s.send(requestHeaders('/held', [], { method: 'POST', endOfStream: false }));
    expect(h.modeOverride?.requestTrailerMode).toBe('SEND');
    const a = await s.send(body('request', 'abc', false));
    expect(a.requestBody?.response?.bodyMutation).toMatchObject({ clearBody: true });
    const t = await s.send({ requestTrailers: { trailers: { headers: [{ key: 'x-checksum', rawValue: Buffer.from('1') }] } } });
    expect(immediateStatus(t)).toBe(500);
    expect(JSON.parse(Buffer.from(t.immediateResponse!.body!).toString()).error.type).toBe('held_body_with_trailers');
  });

  it('stream: STREAMED, each chunk seen as it comes and passed unchanged (no body mutation)', async () => {
    const s = new EnvoyStream(ep.client);
    const h = await s.send(requestHeaders('/streamed', [], { method: 'POST', endOfStream: false }));
    expect(h.modeOverride?.requestBodyMode).toBe('STREAMED');
    const a = await s.send(body('request', 'one', false));
    expect(a.requestBody?.response?.bodyMutation).toBeUndefined();
    const b = await s.send(body('request', 'two', true));
    expect(b.requestBody?.response?.bodyMutation).toBeUndefined();
    expect(guestLines(ep.logs, 'chunk request').map((l) => l.msg)).toEqual(expect.arrayContaining(['chunk request 3 eos=0 one', 'chunk request 3 eos=1 two']));
    s.end();
  });

  it('no body filter: request and response bodies are not asked for (NONE, response headers skipped)', async () => {
    const config = oneRoute({ t: testkit({ name: 't', headerHooks: ['request-headers'] }) }, ['t'], { main: 'http://127.0.0.1:9' });
    const ep2 = await startTestExtProc(config);
    try {
      const s = new EnvoyStream(ep2.client);
      const h = await s.send(requestHeaders('/', [], { method: 'POST', endOfStream: false }));
      expect(h.modeOverride).toMatchObject({ requestBodyMode: 'NONE', responseBodyMode: 'NONE', responseHeaderMode: 'SKIP' });
      s.end();
    } finally {
      await ep2.close();
    }
  });

  it('a body filter on a request without a body sees its end at header time', async () => {
    const s = new EnvoyStream(ep.client);
    const h = await s.send(requestHeaders('/streamed', [], { endOfStream: true }));
    expect(h.modeOverride?.requestBodyMode).toBe('NONE');
    await expect.poll(() => guestLines(ep.logs, 'chunk request 0 eos=1').length).toBeGreaterThan(0);
    s.end();
  });

  it('response body: BUFFERED, replaced; a response without a body is answered on its headers', async () => {
    const s = new EnvoyStream(ep.client);
    const h = await s.send(requestHeaders('/response'));
    expect(h.modeOverride).toMatchObject({ responseBodyMode: 'BUFFERED', responseHeaderMode: 'SEND' });
    await s.send(responseHeaders(200, [['content-length', '2']], false));
    const b = await s.send(body('response', 'ok', true));
    expect(Buffer.from(b.responseBody!.response!.bodyMutation!.body!).toString()).toBe('OK');
    s.end();
  });
});
