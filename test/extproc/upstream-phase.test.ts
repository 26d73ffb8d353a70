/**
 * Upstream filters behind Envoy: the route phase on one stream, then one upstream-phase stream
 * per attempt (Envoy's upstream ext_proc filter on the backend's cluster). Route filters run once;
 * each attempt runs its backend's upstream filters with Envoy's attempt count and the route
 * filters' context; credentials and translation come back as Envoy mutations, per backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/config/load.ts';
import { startExtProc } from '../../runtime/extproc/server.ts';
import { testkit, until } from '../gateway/helpers.ts';
import { ANTHROPIC_KEY, OPENAI_KEY } from '../ai-gateway/helpers.ts';
import { EnvoyStream, type TestExtProc, immediateStatus, startTestExtProc } from './client.ts';
import { ASK, twoBackends } from './upstream-config.ts';
import { type Held, clusterAttribute, hostMetadataAttribute, requestPhase, responsePhase, upstreamMetadata, upstreamPhase } from './upstream-sim.ts';

const header = (h: Held, name: string) => h.headers.filter(([k]) => k === name).map(([, v]) => v);

describe('ext_proc: upstream filters per attempt', () => {
  let ep: TestExtProc;
  beforeAll(async () => {
    ep = await startTestExtProc(twoBackends('http://127.0.0.1:9', 'http://127.0.0.1:9'));
  });
  afterAll(() => ep?.close());

  it('route filters once; each attempt runs its backend\'s filters with its attempt number and the route\'s context', async () => {
    const client: Held = { path: '/v1/chat/completions', headers: [['content-type', 'application/json'], ['x-request-id', 'rid-two-attempts'], ['authorization', 'Bearer client-key']], body: ASK };
    const route = await requestPhase(new EnvoyStream(ep.client), client);
    expect(route.kind).toBe('forwarded');
    if (route.kind !== 'forwarded') return;
    // The route phase stays open until the response, so its context outlives the attempts.
    expect(route.first.modeOverride?.responseHeaderMode).toBe('SEND');
    expect(header(route.request, 'x-context-count')).toEqual(['1']);

    const a1 = await upstreamPhase(ep.client, 'openai', 1, route.request);
    expect(a1.kind).toBe('forwarded');
    if (a1.kind !== 'forwarded') return;
    const one = a1.request;
    expect(header(one, 'x-context-count')).toEqual(['2']);
    expect(header(one, 'x-echo-attempt')).toEqual(['1']);
    expect(header(one, 'x-echo-route')).toEqual(['chat']);
    expect(header(one, 'x-processor-attempt')).toEqual(['1']);
    expect(header(one, 'authorization')).toEqual([`Bearer ${OPENAI_KEY}`]);
    expect(one.path).toBe('/v1/chat/completions');
    expect(one.body).toBe(ASK);
    await responsePhase(a1.stream, 503);

    const a2 = await upstreamPhase(ep.client, 'anthropic-cluster', 2, route.request);
    expect(a2.kind).toBe('forwarded');
    if (a2.kind !== 'forwarded') return;
    const two = a2.request;
    expect(header(two, 'x-context-count')).toEqual(['3']);
    expect(header(two, 'x-processor-attempt')).toEqual(['2']);
    // provider-translate's :path and body, upstream-auth's key: all as Envoy mutations.
    expect(two.path).toBe('/v1/messages');
    expect(JSON.parse(two.body!)).toMatchObject({ model: 'claude-3-5-haiku-latest', system: 'Be brief.' });
    expect(header(two, 'x-api-key')).toEqual([ANTHROPIC_KEY]);
    expect(header(two, 'anthropic-version')).toEqual(['2023-06-01']);
    // Backend A's credential never reaches B (nor the client's own).
    expect(header(two, 'authorization')).toEqual([]);
    expect(JSON.stringify([a2.first, two])).not.toContain(OPENAI_KEY);
    // The answering attempt's response hooks run on its own stream (c reads the shared count).
    expect((await responsePhase(a2.stream, 200))['x-context-count']).toEqual(['3']);
    await responsePhase(route.stream, 200);

    const hooks = ep.logs.filter((l) => l.guest === true && l.msg === 'hook on-request-headers r');
    expect(hooks).toHaveLength(1);
    const lines = () => ep.logs.filter((l) => l.log === 'access' && l.id === 'rid-two-attempts');
    await until(() => lines().length === 3, 'the route phase\'s access line');
    expect(lines().map((l) => l.backend ?? 'route')).toEqual(['openai', 'anthropic', 'route']);

    // The route phase is over: its context is no longer linked (a late attempt starts afresh).
    const late = await upstreamPhase(ep.client, 'openai', 3, route.request);
    expect(late.kind === 'forwarded' && header(late.request, 'x-context-count')).toEqual(['1']);
    late.stream.end();
  });

  it('a reload between the route phase and an attempt keeps them linked', async () => {
    const route = await requestPhase(new EnvoyStream(ep.client), { path: '/v1/models', headers: [['x-request-id', 'rid-reload']] });
    if (route.kind !== 'forwarded') throw new Error('the route phase answered');
    const version = ep.configVersion();
    const config = twoBackends('http://127.0.0.1:9', 'http://127.0.0.1:9');
    config.routes[0]!.timeoutMs = 9_000;
    expect((await ep.reload(config)).ok).toBe(true);
    expect(ep.configVersion()).toBe(version + 1);
    const a = await upstreamPhase(ep.client, 'openai', 1, route.request);
    expect(a.kind === 'forwarded' && header(a.request, 'x-context-count')).toEqual(['2']);
    a.stream.end();
    route.stream.end();
  });

  it('without its route phase an attempt still runs its filters, over an empty context', async () => {
    const alone: Held = { path: '/v1/models', headers: [['x-request-id', 'rid-no-route']] };
    const a = await upstreamPhase(ep.client, 'openai', 3, alone);
    expect(a.kind).toBe('forwarded');
    if (a.kind !== 'forwarded') return;
    expect(header(a.request, 'x-context-count')).toEqual(['1']);
    expect(header(a.request, 'x-echo-attempt')).toEqual(['3']);
    a.stream.end();
  });

  it('one cluster with a locality per backend: the dialled endpoint\'s praxis.backend metadata names the backend', async () => {
    const s = new EnvoyStream(ep.client, upstreamMetadata());
    const a = await requestPhase(s, { path: '/v1/models', headers: [['x-request-id', 'rid-host-meta']] }, hostMetadataAttribute('anthropic-cluster'));
    expect(a.kind === 'forwarded' && header(a.request, 'x-api-key')).toEqual([ANTHROPIC_KEY]);
    s.end();
  });

  it('the cluster may come as x-praxis-cluster metadata', async () => {
    const s = new EnvoyStream(ep.client, upstreamMetadata('openai'));
    const a = await requestPhase(s, { path: '/v1/models', headers: [['x-request-id', 'rid-meta']] });
    expect(a.kind === 'forwarded' && header(a.request, 'authorization')).toEqual([`Bearer ${OPENAI_KEY}`]);
    s.end();
  });

  it('an unknown cluster, or none, is answered 502 unknown_backend, never passed without its filters', async () => {
    for (const extra of [clusterAttribute('nope'), {}]) {
      const s = new EnvoyStream(ep.client, upstreamMetadata());
      const r = await requestPhase(s, { path: '/v1/models', headers: [['x-request-id', 'rid-unknown']] }, extra);
      expect(r.kind).toBe('answered');
      expect(immediateStatus(r.first)).toBe(502);
      expect(JSON.parse(r.kind === 'answered' ? r.body : '{}').error.type).toBe('unknown_backend');
    }
    expect(ep.logs.some((l) => l.cluster === 'nope' && String(l.msg).includes('no backend names'))).toBe(true);
  });

  it('two backends under one Envoy cluster name stop the start, naming the key', async () => {
    const config = twoBackends('http://127.0.0.1:9', 'http://127.0.0.1:9');
    config.upstreams.llm!.backends![1]!.envoyCluster = 'openai';
    const err = await startExtProc(config, { port: 0 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems[0]).toContain('upstreams.llm.backends[1]: Envoy cluster "openai" is also upstreams.llm.backends[0]');
  });
});
