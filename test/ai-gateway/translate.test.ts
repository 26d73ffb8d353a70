/**
 * provider-translate + upstream-auth in front of the fake Anthropic provider: the real OpenAI
 * client gets valid Chat Completions answers, whole and streamed, from a Messages backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeProvider } from '../../runtime/demo/providers.ts';
import { oneRoute } from '../gateway/helpers.ts';
import { startTestGateway, type TestGateway } from '../helpers/servers.ts';
import { ANTHROPIC_KEY, ASK, anthropicAuth, client, translate } from './helpers.ts';

let anthropic: FakeProvider;
let gw: TestGateway;

beforeAll(async () => {
  anthropic = await startFakeProvider({ provider: 'anthropic', apiKey: ANTHROPIC_KEY, delayMs: 5 });
  gw = await startTestGateway(oneRoute({ translate: translate(), auth: anthropicAuth() }, ['translate', 'auth'], { claude: anthropic.url }));
});
afterAll(async () => {
  await gw?.close();
  await anthropic?.close();
});

const base = () => `http://127.0.0.1:${gw.port}`;

describe('provider-translate (OpenAI client, Anthropic backend)', () => {
  it('translates the request (path, system, model map, max_tokens, stop, temperature) and the whole answer back', async () => {
    anthropic.requests.length = 0;
    const res = await client(base()).chat.completions.create({ ...ASK, max_tokens: 64, stop: 'END', temperature: 1.7 });
    expect(res.object).toBe('chat.completion');
    expect(res.choices[0]!.message.role).toBe('assistant');
    expect(res.choices[0]!.message.content).toContain('fake anthropic provider (claude-3-5-haiku-latest)');
    expect(res.choices[0]!.message.content).toContain('You said: ping pong');
    expect(res.choices[0]!.finish_reason).toBe('stop');
    expect(res.usage!.completion_tokens).toBeGreaterThan(0);
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
    const seen = anthropic.requests.at(-1)!;
    expect(seen.path).toBe('/v1/messages');
    const sent = JSON.parse(seen.body) as Record<string, unknown>;
    expect(sent).toMatchObject({ model: 'claude-3-5-haiku-latest', system: 'Be brief.', max_tokens: 64, stop_sequences: ['END'], temperature: 1 });
    expect(sent.messages).toEqual([{ role: 'user', content: 'ping pong' }]);
    expect(seen.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(seen.headers['anthropic-version']).toBe('2023-06-01');
    // The client's own bearer token is not passed on to the provider.
    expect(seen.headers.authorization).toBeUndefined();
  });

  it('streams: each Anthropic event becomes an OpenAI chunk, consumed with for await', async () => {
    const stream = await client(base()).chat.completions.create({ ...ASK, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: { total_tokens: number } | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Hello from the fake anthropic provider (claude-3-5-haiku-latest). You said: ping pong');
    expect(chunks).toBeGreaterThan(5);
    expect(finish).toBe('stop');
    expect(usage!.total_tokens).toBeGreaterThan(0);
    expect(JSON.parse(anthropic.requests.at(-1)!.body).stream).toBe(true);
  });

  it('passes the stream on as it arrives: the first chunk reaches the client before the provider has finished', async () => {
    const slow = await startFakeProvider({ provider: 'anthropic', delayMs: 150 });
    const g = await startTestGateway(oneRoute({ translate: translate(), auth: anthropicAuth() }, ['translate', 'auth'], { claude: slow.url }));
    try {
      const stream = await client(`http://127.0.0.1:${g.port}`).chat.completions.create({ ...ASK, stream: true });
      const started = Date.now();
      const arrivals: number[] = [];
      for await (const _ of stream) arrivals.push(Date.now() - started);
      // ~20 deltas 150 ms apart: a buffered body would deliver them all at once at the end.
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(1000);
    } finally {
      await g.close();
      await slow.close();
    }
  });

  it('turns an Anthropic error into an OpenAI error the client raises', async () => {
    const g = await startTestGateway(oneRoute({ translate: translate(), auth: anthropicAuth('wrong-key') }, ['translate', 'auth'], { claude: anthropic.url }));
    try {
      const err = await client(`http://127.0.0.1:${g.port}`).chat.completions.create(ASK).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 401, type: 'authentication_error' });
    } finally {
      await g.close();
    }
  });

  it('answers 400 in OpenAI shape for what it cannot translate, and sends nothing upstream', async () => {
    anthropic.requests.length = 0;
    const err = await client(base()).chat.completions.create({
      model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'r', tool_call_id: 't' }],
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, type: 'invalid_request_error' });
    expect((err as Error).message).toContain('messages of role tool are not translated');
    expect(anthropic.requests).toHaveLength(0);
  });

  it('leaves other requests alone', async () => {
    const res = await fetch(`${base()}/v1/models`);
    expect(res.status).toBe(404); // the provider's own answer to a path it does not serve
    expect(anthropic.requests.at(-1)!.path).toBe('/v1/models');
  });
});
