/** The ext_proc face when things go wrong: trapping filters (open, closed), a stream cancelled mid-sub-request. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pluginPath, startServer, type TestServer } from '../helpers/servers.ts';
import { oneRoute, testkit, until } from '../gateway/helpers.ts';
import { EnvoyStream, type TestExtProc, body, immediateStatus, mutationOf, requestHeaders, startTestExtProc } from './client.ts';

describe('ext_proc: failures', () => {
  let ep: TestExtProc;
  let scanner: TestServer;
  const scans: Array<{ aborted: boolean }> = [];
  beforeAll(async () => {
    // A scanner that never answers: each request records whether its caller went away.
    scanner = await startServer((_req, res) => {
      const scan = { aborted: false };
      scans.push(scan);
      res.on('close', () => { scan.aborted = !res.writableEnded; });
    });
    const config = oneRoute({
      closed: testkit({ name: 'closed', trapIfHeader: 'x-trap-closed', setRequestHeader: ['x-closed-ran', '1'] }, { failure: 'closed' }),
      open: testkit({ name: 'open', trapIfHeader: 'x-trap-open', setRequestHeader: ['x-open-ran', '1'] }, { failure: 'open' }),
      after: testkit({ name: 'after', setRequestHeader: ['x-after', '1'] }),
      guardrail: { path: pluginPath('guardrail'), allowedHosts: [`127.0.0.1:${scanner.port}`], config: { scannerUrl: `${scanner.url}/scan`, timeoutMs: 20_000 } },
    }, ['open', 'closed', 'after'], { main: 'http://127.0.0.1:9' });
    config.routes.unshift({ name: 'chat', upstream: 'main', filters: ['guardrail'], match: { pathPrefix: '/v1' }, timeoutMs: 30_000 });
    ep = await startTestExtProc(config);
  });
  afterAll(async () => {
    await ep.close();
    await scanner.close();
  });

  it('a trapping filter with failure: closed answers an immediate 500 with the fixed message', async () => {
    const s = new EnvoyStream(ep.client);
    const r = await s.send(requestHeaders('/x', [['x-trap-closed', '1'], ['x-request-id', 'trap-1']]));
    expect(immediateStatus(r)).toBe(500);
    const err = JSON.parse(Buffer.from(r.immediateResponse!.body!).toString()).error;
    expect(err).toEqual({ type: 'filter_failed', message: 'a filter failed to process the request', requestId: 'trap-1', plugin: 'closed', hook: 'on-request-headers' });
    expect(mutationOf(r.immediateResponse!.headers).set['content-type']).toEqual(['application/json']);
  });

  it('a trapping filter with failure: open is skipped and the rest of the chain runs', async () => {
    const s = new EnvoyStream(ep.client);
    const r = await s.send(requestHeaders('/x', [['x-trap-open', '1']]));
    expect(r.immediateResponse).toBeUndefined();
    const set = mutationOf(r.requestHeaders?.response?.headerMutation).set;
    expect(set['x-open-ran']).toBeUndefined();
    expect(set['x-closed-ran']).toEqual(['1']);
    expect(set['x-after']).toEqual(['1']);
    s.end();
  });

  it('a stream cancelled while the guardrail waits on its scanner cancels the sub-request', async () => {
    const s = new EnvoyStream(ep.client);
    const h = await s.send(requestHeaders('/v1/chat/completions', [['content-type', 'application/json']], { method: 'POST', endOfStream: false }));
    expect(h.modeOverride?.requestBodyMode).toBe('BUFFERED');
    s.call.write(body('request', JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hello' }] }), true));
    await until(() => scans.length === 1, 'the scanner to be called');
    await until(() => ep.subrequestsInFlight() === 1, 'the sub-request to be in flight');
    s.call.cancel();
    await until(() => scans[0]!.aborted, 'the scanner to see its request aborted');
    await until(() => ep.subrequestsInFlight() === 0 && ep.streamsInFlight() === 0, 'the stream to be released');
    const access = ep.logs.filter((l) => l.msg === 'access' && l.route === 'chat');
    expect(access.at(-1)?.status).toBe(499);
  });
});
