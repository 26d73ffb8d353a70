/** provider-translate through praxis-wasm/testing (what `praxis-wasm try` prints): the rewritten path, request and answer. */
import { describe, expect, it } from 'vitest';
import { runFilter } from '../../runtime/testing/index.ts';
import { pluginPath } from '../helpers/servers.ts';

describe('provider-translate in the test harness', () => {
  it('shows the upstream path and body the gateway would send, and the translated answer', async () => {
    const r = await runFilter(pluginPath('provider-translate'), {
      config: { models: { 'gpt-4o-mini': 'claude-x' } },
      request: { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }) },
      response: {
        status: 200, headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'msg_1', type: 'message', model: 'claude-x', content: [{ type: 'text', text: 'hello' }], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 2 } }),
      },
    });
    expect(r.request.path).toBe('/v1/messages');
    expect(r.request.headers.some(([k]) => k === ':path')).toBe(false);
    expect(JSON.parse(r.request.body)).toMatchObject({ model: 'claude-x', max_tokens: 4096 });
    expect(JSON.parse(r.response.body)).toMatchObject({ object: 'chat.completion', choices: [{ message: { content: 'hello' } }], usage: { total_tokens: 3 } });
  });
});
