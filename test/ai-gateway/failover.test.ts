/**
 * Failover from a failing OpenAI-style primary to an Anthropic-style secondary: each backend's
 * upstream filters (its credentials; translation for the secondary) run on the attempts sent to
 * it, and the real OpenAI client gets a valid OpenAI answer either way, whole or streamed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayConfig, PluginConfig } from '../../runtime/config/types.ts';
import { type FakeProvider, type ProviderFailure, startFakeProvider } from '../../runtime/demo/providers.ts';
import { startTestGateway, type TestGateway } from '../helpers/servers.ts';
import { ANTHROPIC_KEY, ASK, anthropicAuth, client, OPENAI_KEY, openaiAuth, translate } from './helpers.ts';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function provider(kind: 'openai' | 'anthropic', fail: ProviderFailure = 'none'): Promise<FakeProvider> {
  const p = await startFakeProvider({ provider: kind, fail, apiKey: kind === 'openai' ? OPENAI_KEY : ANTHROPIC_KEY, delayMs: 2 });
  open.push(p);
  return p;
}

/** Primary: OpenAI with its bearer token; secondary: Anthropic endpoints, translated, with its key. */
async function gateway(primary: FakeProvider, secondary: FakeProvider[], retries = 1, removeNothing = false): Promise<TestGateway> {
  const plain = (p: PluginConfig): PluginConfig => ({ ...p, config: { ...(p.config as object), removeHeaders: [] } });
  const config: GatewayConfig = {
    plugins: {
      'openai-auth': removeNothing ? plain(openaiAuth()) : openaiAuth(),
      translate: translate(),
      'anthropic-auth': removeNothing ? plain(anthropicAuth()) : anthropicAuth(),
    },
    upstreams: {
      llm: {
        backends: [
          { name: 'openai', endpoints: [primary.url], priority: 0, upstreamFilters: ['openai-auth'] },
          { name: 'anthropic', endpoints: secondary.map((s) => s.url), priority: 1, upstreamFilters: ['translate', 'anthropic-auth'] },
        ],
      },
    },
    routes: [{ name: 'chat', upstream: 'llm', filters: [], retries, timeoutMs: 10_000 }],
  };
  const gw = await startTestGateway(config);
  open.push(gw);
  return gw;
}

/** `clientAuth`: the client's own bearer token may pass (auth filters that remove nothing). */
function expectNoCrossedCredentials(primary: FakeProvider, secondary: FakeProvider, clientAuth = false): void {
  expect(primary.requests.length).toBeGreaterThan(0);
  for (const r of primary.requests) {
    expect(r.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(r.headers['x-api-key']).toBeUndefined();
    expect(JSON.stringify(r.headers)).not.toContain(ANTHROPIC_KEY);
    // The primary got the client's own request: OpenAI path and body, untranslated.
    expect(r.path).toBe('/v1/chat/completions');
    expect(JSON.parse(r.body).model).toBe('gpt-4o-mini');
  }
  expect(secondary.requests.length).toBeGreaterThan(0);
  for (const r of secondary.requests) {
    expect(r.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(r.headers.authorization).toBe(clientAuth ? 'Bearer client-key' : undefined);
    expect(JSON.stringify(r.headers)).not.toContain(OPENAI_KEY);
    expect(r.path).toBe('/v1/messages');
    expect(JSON.parse(r.body)).toMatchObject({ model: 'claude-3-5-haiku-latest', system: 'Be brief.' });
  }
}

describe('failover with translation', () => {
  it('a 503 from the OpenAI primary fails over to the Anthropic secondary: a valid chat.completion', async () => {
    const primary = await provider('openai', '503');
    const secondary = await provider('anthropic');
    const gw = await gateway(primary, [secondary]);
    const res = await client(`http://127.0.0.1:${gw.port}`, 'client-key').chat.completions.create(ASK);
    expect(res.object).toBe('chat.completion');
    expect(res.choices[0]!.message.content).toContain('fake anthropic provider (claude-3-5-haiku-latest)');
    expect(res.usage!.total_tokens).toBeGreaterThan(0);
    expect(primary.requests).toHaveLength(1);
    expect(secondary.requests).toHaveLength(1);
    expectNoCrossedCredentials(primary, secondary);
  });

  it('streamed: the client reads OpenAI chunks from the Anthropic secondary with for await', async () => {
    const primary = await provider('openai', '503');
    const secondary = await provider('anthropic');
    const gw = await gateway(primary, [secondary]);
    const stream = await client(`http://127.0.0.1:${gw.port}`).chat.completions.create({ ...ASK, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage?.total_tokens ?? usage;
    }
    expect(text).toBe('Hello from the fake anthropic provider (claude-3-5-haiku-latest). You said: ping pong');
    expect(usage).toBeGreaterThan(0);
    expectNoCrossedCredentials(primary, secondary);
  });

  it('a primary that drops the connection fails over too', async () => {
    const primary = await provider('openai', 'refuse');
    const secondary = await provider('anthropic');
    const gw = await gateway(primary, [secondary]);
    const res = await client(`http://127.0.0.1:${gw.port}`).chat.completions.create(ASK);
    expect(res.choices[0]!.message.content).toContain('fake anthropic provider');
    expect(secondary.requests).toHaveLength(1);
  });

  it('the healthy primary answers itself, untranslated, with only its own credential', async () => {
    const primary = await provider('openai');
    const secondary = await provider('anthropic');
    const gw = await gateway(primary, [secondary]);
    const res = await client(`http://127.0.0.1:${gw.port}`).chat.completions.create(ASK);
    expect(res.choices[0]!.message.content).toContain('fake openai provider (gpt-4o-mini)');
    expect(secondary.requests).toHaveLength(0);
    expect(primary.requests[0]!.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
  });

  it('upstream filters re-run on every attempt: each secondary endpoint tried gets a translated, keyed request', async () => {
    const primary = await provider('openai', '503');
    const down = await provider('anthropic', '503');
    const up = await provider('anthropic');
    // Enough retries to reach both secondary endpoints, however the groups are cycled. The auth
    // filters remove no header here: no credential of an earlier attempt may be left to remove.
    const gw = await gateway(primary, [down, up], 4, true);
    const stream = await client(`http://127.0.0.1:${gw.port}`).chat.completions.create({ ...ASK, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain('fake anthropic provider');
    expect(down.requests).toHaveLength(1);
    expect(up.requests).toHaveLength(1);
    expectNoCrossedCredentials(primary, down, true);
    expectNoCrossedCredentials(primary, up, true);
    // One attempt each, numbered 1..n: the secondary's filters ran again for its second endpoint.
    const attempts = [primary, down, up].flatMap((p) => p.requests.map((r) => Number(r.headers['x-processor-attempt'])));
    expect(attempts.sort((a, b) => a - b)).toEqual(attempts.map((_, i) => i + 1));
    expect(attempts.length).toBeGreaterThanOrEqual(3);
  });
});
