/**
 * Parity of the upstream phase: one two-backend config (OpenAI primary that fails, Anthropic
 * secondary behind provider-translate), through the standalone gateway's failover and through
 * Envoy's two ext_proc filters, gives each backend the same request: path, body and the headers
 * the filters set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { HeaderList } from '../../runtime/component/types.ts';
import { type FakeProvider, startFakeProvider } from '../../runtime/demo/providers.ts';
import { startTestGateway, type TestGateway } from '../helpers/servers.ts';
import { ANTHROPIC_KEY, OPENAI_KEY } from '../ai-gateway/helpers.ts';
import { EnvoyStream, type TestExtProc, startTestExtProc } from './client.ts';
import { type Held, requestPhase, responsePhase, upstreamPhase } from './upstream-sim.ts';
import { ASK, twoBackends } from './upstream-config.ts';

const WATCHED = ['authorization', 'x-api-key', 'anthropic-version', 'x-context-count', 'x-echo-attempt', 'x-processor-attempt', 'x-request-id', 'content-type'];

interface Seen { path: string; body: unknown; headers: Record<string, string> }

function seen(path: string, body: string, headers: HeaderList): Seen {
  return { path, body: JSON.parse(body), headers: Object.fromEntries(headers.filter(([k]) => WATCHED.includes(k))) };
}

describe('parity: upstream filters through the gateway and behind Envoy', () => {
  let primary: FakeProvider;
  let secondary: FakeProvider;
  let gw: TestGateway;
  let ep: TestExtProc;
  beforeAll(async () => {
    primary = await startFakeProvider({ provider: 'openai', fail: '503', apiKey: OPENAI_KEY, delayMs: 1 });
    secondary = await startFakeProvider({ provider: 'anthropic', apiKey: ANTHROPIC_KEY, delayMs: 1 });
    const config = twoBackends(primary.url, secondary.url);
    gw = await startTestGateway(config);
    ep = await startTestExtProc(config);
  });
  afterAll(async () => {
    await Promise.all([gw?.close(), ep?.close()]);
    await Promise.all([primary?.close(), secondary?.close()]);
  });

  it('each backend gets the same request either way', async () => {
    const id = 'rid-parity';
    const headers: HeaderList = [['content-type', 'application/json'], ['x-request-id', id], ['authorization', 'Bearer client-key']];
    const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: Object.fromEntries(headers), body: ASK });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect([primary.requests.length, secondary.requests.length]).toEqual([1, 1]);
    const record = (r: FakeProvider['requests'][number]) => seen(r.path, r.body, Object.entries(r.headers).map(([k, v]) => [k, String(v)]));
    const viaGateway = { openai: record(primary.requests[0]!), anthropic: record(secondary.requests[0]!) };

    const route = await requestPhase(new EnvoyStream(ep.client), { path: '/v1/chat/completions', headers, body: ASK });
    if (route.kind !== 'forwarded') throw new Error('the route phase answered');
    const attempt = async (cluster: string, n: number, status: number): Promise<Held> => {
      const a = await upstreamPhase(ep.client, cluster, n, route.request);
      if (a.kind !== 'forwarded') throw new Error(`attempt ${n} answered ${a.status}`);
      await responsePhase(a.stream, status);
      return a.request;
    };
    const one = await attempt('openai', 1, 503);
    const two = await attempt('anthropic-cluster', 2, 200);
    await responsePhase(route.stream, 200);
    const viaEnvoy = { openai: seen(one.path, one.body!, one.headers), anthropic: seen(two.path, two.body!, two.headers) };

    expect(viaEnvoy).toEqual(viaGateway);
    // The comparison is not vacuous: each backend's own credential, and translation for the second.
    expect(viaEnvoy.openai.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(viaEnvoy.anthropic.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(viaEnvoy.anthropic.path).toBe('/v1/messages');
  });
});
