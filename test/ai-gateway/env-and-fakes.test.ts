/** The host's `${ENV}` resolution in plugin config, and the fake providers' own checks (what makes the translation tests mean something). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvReferenceError, resolveEnvRefs } from '../../runtime/config/env-refs.ts';
import { type FakeProvider, startFakeProvider } from '../../runtime/demo/providers.ts';

describe('resolveEnvRefs', () => {
  const env = { KEY: 'secret', OTHER: 'o', EMPTY: '' };

  it('replaces whole-string references at any depth and leaves everything else as it is', () => {
    const config = { a: '${KEY}', list: ['${OTHER}', 'x ${KEY}', 1, null], nested: { b: { c: '${OTHER}' } }, text: '$KEY', n: 3 };
    expect(resolveEnvRefs(config, 'plugins.p.config', env)).toEqual({
      a: 'secret', list: ['o', 'x ${KEY}', 1, null], nested: { b: { c: 'o' } }, text: '$KEY', n: 3,
    });
    expect(config.a).toBe('${KEY}'); // the config keeps the reference (what /config shows)
  });

  it('refuses an unset or empty variable, naming the key path and the variable, never a value', () => {
    expect(() => resolveEnvRefs({ list: [{ k: '${MISSING}' }] }, 'plugins.p.config', env))
      .toThrow(new EnvReferenceError('plugins.p.config.list[0].k', 'MISSING'));
    expect(() => resolveEnvRefs({ k: '${EMPTY}' }, 'plugins.p.config', env)).toThrow(/plugins\.p\.config\.k: environment variable EMPTY is not set/);
  });
});

describe('the fake providers check what they are sent', () => {
  let openai: FakeProvider;
  let anthropic: FakeProvider;
  beforeAll(async () => {
    openai = await startFakeProvider({ provider: 'openai' });
    anthropic = await startFakeProvider({ provider: 'anthropic' });
  });
  afterAll(async () => {
    await openai?.close();
    await anthropic?.close();
  });

  const chat = { model: 'm', messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'hi' }] };
  const post = (url: string, headers: Record<string, string>, body: unknown) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('anthropic: an OpenAI-shaped body is a 400, a missing key a 401, the Chat Completions path a 404', async () => {
    const keyed = { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' };
    const bad = await post(`${anthropic.url}/v1/messages`, keyed, chat);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.type).toBe('invalid_request_error');
    expect((await post(`${anthropic.url}/v1/messages`, {}, { ...chat, max_tokens: 5 })).status).toBe(401);
    expect((await post(`${anthropic.url}/v1/chat/completions`, keyed, chat)).status).toBe(404);
    const ok = await post(`${anthropic.url}/v1/messages`, keyed, { model: 'm', max_tokens: 5, system: 's', messages: [{ role: 'user', content: 'hi' }] });
    expect((await ok.json()).type).toBe('message');
  });

  it('openai: wants a bearer token; --fail 503 and refuse can be switched on', async () => {
    expect((await post(`${openai.url}/v1/chat/completions`, {}, chat)).status).toBe(401);
    expect((await post(`${openai.url}/v1/chat/completions`, { authorization: 'Bearer k' }, chat)).status).toBe(200);
    openai.fail = '503';
    expect((await post(`${openai.url}/v1/chat/completions`, { authorization: 'Bearer k' }, chat)).status).toBe(503);
    openai.fail = 'refuse';
    await expect(post(`${openai.url}/v1/chat/completions`, { authorization: 'Bearer k' }, chat)).rejects.toThrow();
    openai.fail = 'none';
  });
});
