/**
 * Fake LLM providers for the AI-gateway demo and its tests. Each speaks its real API's shape:
 * - `openai`: Chat Completions, `POST /v1/chat/completions`, JSON or (`stream: true`) SSE
 *   `data: {chunk}` lines ending with `data: [DONE]`; wants `authorization: Bearer ...`;
 * - `anthropic`: Messages, `POST /v1/messages`, JSON or SSE events `message_start`,
 *   `content_block_start`, `content_block_delta`, `content_block_stop`, `message_delta` (usage),
 *   `message_stop`; wants `x-api-key` and `anthropic-version`, and refuses an OpenAI-shaped body.
 * A whole answer is gzipped when the request accepts gzip (as the real ones do). `fail` makes it answer 503 (`503`) or drop every connection unanswered (`refuse`). Every request
 * is recorded (`requests`), so a test can see which headers reached which provider.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';

export type ProviderKind = 'openai' | 'anthropic';
export type ProviderFailure = 'none' | '503' | 'refuse';

export interface ProviderOptions {
  provider: ProviderKind;
  port?: number;
  host?: string;
  fail?: ProviderFailure;
  /** When set, a request without exactly this key is answered 401. */
  apiKey?: string;
  /** Pause between streamed events (ms, default 20). */
  delayMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FakeProvider {
  url: string;
  requests: RecordedRequest[];
  /** Switches the failure mode of later requests. */
  fail: ProviderFailure;
  close(): Promise<void>;
}

interface Chat {
  model: string;
  stream: boolean;
  prompt: string;
  inputTokens: number;
}

const words = (s: string): number => s.split(/\s+/).filter(Boolean).length;

function reply(provider: ProviderKind, chat: Chat): string[] {
  const text = `Hello from the fake ${provider} provider (${chat.model}). You said: ${chat.prompt}`;
  return text.split(/(?= )/);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A whole answer, gzipped when the request accepts it, as the real APIs do. */
function answer(req: IncomingMessage, res: ServerResponse, body: unknown): void {
  if (!/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) return json(res, 200, body);
  res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
  res.end(gzipSync(JSON.stringify(body)));
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : '')).join('');
  return '';
}

/** The request as a chat, or the reason it is not a valid one for this provider. */
function readChat(provider: ProviderKind, body: string): Chat | string {
  let req: Record<string, unknown>;
  try {
    req = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return 'body is not JSON';
  }
  if (typeof req.model !== 'string' || !req.model) return 'model: required';
  if (!Array.isArray(req.messages) || req.messages.length === 0) return 'messages: required';
  const messages = req.messages as { role?: unknown; content?: unknown }[];
  if (provider === 'anthropic') {
    if (typeof req.max_tokens !== 'number') return 'max_tokens: Field required';
    const bad = messages.find((m) => m.role !== 'user' && m.role !== 'assistant');
    if (bad) return `messages: Unexpected role "${String(bad.role)}". Use the top-level system parameter for a system prompt`;
    if ('stop' in req) return 'stop: Extra inputs are not permitted';
  }
  const last = [...messages].reverse().find((m) => m.role === 'user');
  const all = messages.map((m) => textOf(m.content)).join(' ') + ' ' + (typeof req.system === 'string' ? req.system : '');
  return { model: req.model, stream: req.stream === true, prompt: textOf(last?.content), inputTokens: words(all) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function answerOpenAI(req: IncomingMessage, res: ServerResponse, chat: Chat, body: string, delayMs: number): Promise<void> {
  const parts = reply('openai', chat);
  const id = `chatcmpl-fake${Date.now()}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: chat.inputTokens, completion_tokens: parts.length, total_tokens: chat.inputTokens + parts.length };
  if (!chat.stream) {
    answer(req, res, {
      id, object: 'chat.completion', created, model: chat.model,
      choices: [{ index: 0, message: { role: 'assistant', content: parts.join(''), refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage,
    });
    return;
  }
  const includeUsage = (JSON.parse(body) as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage === true;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: chat.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  res.write(chunk({ role: 'assistant', content: '' }, null));
  for (const p of parts) {
    await sleep(delayMs);
    res.write(chunk({ content: p }, null));
  }
  res.write(chunk({}, 'stop'));
  if (includeUsage) res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: chat.model, choices: [], usage })}\n\n`);
  res.end('data: [DONE]\n\n');
}

async function answerAnthropic(req: IncomingMessage, res: ServerResponse, chat: Chat, delayMs: number): Promise<void> {
  const parts = reply('anthropic', chat);
  const id = `msg_fake${Date.now()}`;
  if (!chat.stream) {
    answer(req, res, {
      id, type: 'message', role: 'assistant', model: chat.model,
      content: [{ type: 'text', text: parts.join('') }],
      stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: chat.inputTokens, output_tokens: parts.length },
    });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const event = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  res.write(event('message_start', {
    message: { id, type: 'message', role: 'assistant', model: chat.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: chat.inputTokens, output_tokens: 1 } },
  }));
  res.write(event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
  res.write(event('ping', {}));
  for (const p of parts) {
    await sleep(delayMs);
    res.write(event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } }));
  }
  res.write(event('content_block_stop', { index: 0 }));
  res.write(event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: parts.length } }));
  res.end(event('message_stop', {}));
}

/** The credential the provider expects, checked like the real one (401 with its error shape). */
function authProblem(opts: ProviderOptions, headers: IncomingHttpHeaders): string | undefined {
  if (opts.provider === 'openai') {
    const auth = headers.authorization ?? '';
    if (!auth.startsWith('Bearer ')) return 'missing bearer token';
    if (opts.apiKey !== undefined && auth !== `Bearer ${opts.apiKey}`) return 'incorrect API key';
    return undefined;
  }
  const key = headers['x-api-key'];
  if (typeof key !== 'string' || !key) return 'x-api-key header is required';
  if (opts.apiKey !== undefined && key !== opts.apiKey) return 'invalid x-api-key';
  if (!headers['anthropic-version']) return 'anthropic-version header is required';
  return undefined;
}

function apiError(provider: ProviderKind, type: string, message: string): object {
  return provider === 'openai' ? { error: { message, type, param: null, code: null } } : { type: 'error', error: { type, message } };
}

export async function startFakeProvider(opts: ProviderOptions): Promise<FakeProvider> {
  const delayMs = opts.delayMs ?? 20;
  const path = opts.provider === 'openai' ? '/v1/chat/completions' : '/v1/messages';
  const requests: RecordedRequest[] = [];
  const self: FakeProvider = { url: '', requests, fail: opts.fail ?? 'none', close: async () => {} };
  const server = createServer(async (req, res) => {
    // A kept-alive connection from before `refuse` was switched on is dropped on its next request.
    if (self.fail === 'refuse') return void req.socket.destroy();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
    if (self.fail === '503') return json(res, 503, apiError(opts.provider, 'overloaded_error', 'the fake provider is failing on purpose'));
    if (req.method !== 'POST' || req.url?.split('?')[0] !== path) return json(res, 404, apiError(opts.provider, 'not_found_error', `POST ${path} only`));
    const auth = authProblem(opts, req.headers);
    if (auth) return json(res, 401, apiError(opts.provider, 'authentication_error', auth));
    const chat = readChat(opts.provider, body);
    if (typeof chat === 'string') return json(res, 400, apiError(opts.provider, 'invalid_request_error', chat));
    if (opts.provider === 'openai') await answerOpenAI(req, res, chat, body, delayMs);
    else await answerAnthropic(req, res, chat, delayMs);
  });
  // `refuse`: the connection is accepted and dropped unanswered, as a provider that went away.
  server.on('connection', (socket) => { if (self.fail === 'refuse') socket.destroy(); });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => { server.off('error', reject); resolve(); });
  });
  self.url = `http://${host}:${(server.address() as AddressInfo).port}`;
  self.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return self;
}
