/**
 * provider-translate + upstream-auth in front of the fake Anthropic provider: the real OpenAI
 * client gets valid Chat Completions answers, whole and streamed, from a Messages backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeProvider } from '../../runtime/demo/providers.ts';
import { oneRoute } from '../gateway/helpers.ts';
import { type Handler, startServer, startTestGateway, type TestGateway } from '../helpers/servers.ts';
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
    expect(Math.abs(res.created - Date.now() / 1000)).toBeLessThan(600); // the host's clock, in seconds
    expect(res.usage!.completion_tokens).toBeGreaterThan(0);
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
    const seen = anthropic.requests.at(-1)!;
    expect(seen.path).toBe('/v1/messages');
    const sent = JSON.parse(seen.body) as Record<string, unknown>;
    expect(sent).toMatchObject({ model: 'claude-3-5-haiku-latest', system: 'Be brief.', max_tokens: 64, stop_sequences: ['END'], temperature: 1 });
    expect(sent.messages).toEqual([{ role: 'user', content: 'ping pong' }]);
    expect(seen.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(seen.headers['anthropic-version']).toBe('2023-06-01');
    // The client accepts gzip, and the fake (as the real API) would compress: the answer must come back plain.
    expect(seen.headers['accept-encoding']).toBe('identity');
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
    const withTools = await client(base()).chat.completions.create({
      model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
    }).catch((e: unknown) => e);
    expect((withTools as Error).message).toContain('tools are not translated');
    expect(anthropic.requests).toHaveLength(0);
  });

  it('leaves other requests alone', async () => {
    const res = await fetch(`${base()}/v1/models`);
    expect(res.status).toBe(404); // the provider's own answer to a path it does not serve
    expect(anthropic.requests.at(-1)!.path).toBe('/v1/models');
  });
});

/** Anthropic's stream, written in `size`-byte pieces with CRLF line ends: events split anywhere. */
function fragmentedStream(size: number): Handler {
  const events = [
    ['message_start', { message: { id: 'msg_split', model: 'claude-x', usage: { input_tokens: 3, output_tokens: 1 } } }],
    ['content_block_start', { index: 0, content_block: { type: 'text', text: '' } }],
    ...['Split', ' across', ' chunks', ' é😀'].map((t) => ['content_block_delta', { index: 0, delta: { type: 'text_delta', text: t } }]),
    ['content_block_stop', { index: 0 }],
    ['message_delta', { delta: { stop_reason: 'max_tokens' }, usage: { output_tokens: 4 } }],
    ['message_stop', {}],
  ] as const;
  const text = events.map(([type, data]) => `event: ${type}\r\ndata: ${JSON.stringify({ type, ...(data as object) })}\r\n\r\n`).join('');
  const bytes = Buffer.from(text);
  return async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < bytes.length; i += size) {
      res.write(bytes.subarray(i, i + size));
      await new Promise((r) => setTimeout(r, 1));
    }
    res.end();
  };
}

describe('provider-translate stream framing', () => {
  it('translates events split across chunks (carry-over), multi-byte characters included', async () => {
    const up = await startServer(fragmentedStream(7));
    const g = await startTestGateway(oneRoute({ translate: translate() }, ['translate'], { claude: up.url }));
    try {
      const stream = await client(`http://127.0.0.1:${g.port}`).chat.completions.create({ ...ASK, stream: true, stream_options: { include_usage: true } });
      let text = '';
      let finish: string | null = null;
      let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
      for await (const chunk of stream) {
        expect(chunk.id).toBe('msg_split');
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        usage = chunk.usage ?? usage;
      }
      expect(text).toBe('Split across chunks é😀');
      expect(finish).toBe('length');
      expect(usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4 });
    } finally {
      await g.close();
      await up.close();
    }
  });

  it('ends the stream with an error when one event outgrows maxEventBytes', async () => {
    const up = await startServer(fragmentedStream(16));
    const g = await startTestGateway(oneRoute({ translate: translate({ maxEventBytes: 64 }) }, ['translate'], { claude: up.url }));
    try {
      const stream = await client(`http://127.0.0.1:${g.port}`).chat.completions.create({ ...ASK, stream: true });
      const err = await (async () => { for await (const _ of stream) { /* drain */ } })().catch((e: unknown) => e);
      expect(String(err)).toContain('exceeded maxEventBytes');
    } finally {
      await g.close();
      await up.close();
    }
  });

  it('an error event mid-stream reaches the client as an OpenAI stream error', async () => {
    const up = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_e', model: 'm', usage: { input_tokens: 1 } } })}\n\n`);
      res.end(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`);
    });
    const g = await startTestGateway(oneRoute({ translate: translate() }, ['translate'], { claude: up.url }));
    try {
      const stream = await client(`http://127.0.0.1:${g.port}`).chat.completions.create({ ...ASK, stream: true });
      const err = await (async () => { for await (const _ of stream) { /* drain */ } })().catch((e: unknown) => e);
      expect(String(err)).toContain('Overloaded');
    } finally {
      await g.close();
      await up.close();
    }
  });
});
