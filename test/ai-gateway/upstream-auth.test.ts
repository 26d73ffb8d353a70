/**
 * upstream-auth: the backend's credential replaces whatever credential the client sent; a
 * `${ENV}` credential is read by the host at load; the value shows neither in /config nor in logs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeProvider } from '../../runtime/demo/providers.ts';
import { startGateway } from '../../runtime/gateway/gateway.ts';
import { oneRoute } from '../gateway/helpers.ts';
import { startTestGateway } from '../helpers/servers.ts';
import { ASK, client, OPENAI_KEY, openaiAuth } from './helpers.ts';

const ENV = 'PRAXIS_TEST_UPSTREAM_AUTH_KEY';
let openai: FakeProvider;

beforeAll(async () => {
  openai = await startFakeProvider({ provider: 'openai', apiKey: OPENAI_KEY, delayMs: 1 });
});
afterAll(async () => {
  delete process.env[ENV];
  await openai?.close();
});

describe('upstream-auth', () => {
  it('sends the configured bearer token, not the client\'s own credentials', async () => {
    const gw = await startTestGateway(oneRoute({ auth: openaiAuth() }, ['auth'], { openai: openai.url }));
    try {
      openai.requests.length = 0;
      const res = await fetch(`http://127.0.0.1:${gw.port}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer client-own-token', 'x-api-key': 'client-anthropic-key', 'content-type': 'application/json' },
        body: JSON.stringify(ASK),
      });
      expect(res.status).toBe(200);
      const seen = openai.requests[0]!.headers;
      expect(seen.authorization).toBe(`Bearer ${OPENAI_KEY}`);
      expect(seen['x-api-key']).toBeUndefined();
    } finally {
      await gw.close();
    }
  });

  it('reads a ${ENV} credential on the host at load; /config and the logs never show its value', async () => {
    const secret = 'sk-from-the-environment-123';
    process.env[ENV] = secret;
    const keyed = await startFakeProvider({ provider: 'openai', apiKey: secret });
    const config = { ...oneRoute({ auth: openaiAuth(`\${${ENV}}`) }, ['auth'], { openai: keyed.url }), admin: { host: '127.0.0.1', port: 0 } };
    const gw = await startTestGateway(config);
    try {
      const res = await client(`http://127.0.0.1:${gw.port}`).chat.completions.create(ASK);
      expect(res.choices[0]!.message.content).toContain('fake openai provider');
      const shown = await (await fetch(`${gw.adminUrl}/config`)).text();
      expect(shown).not.toContain(secret);
      expect(JSON.stringify(gw.logs)).not.toContain(secret);
    } finally {
      await gw.close();
      await keyed.close();
    }
  });

  it('refuses to start when the variable is unset, naming the key and the variable', async () => {
    delete process.env[ENV];
    const config = oneRoute({ auth: openaiAuth(`\${${ENV}}`) }, ['auth'], { openai: openai.url });
    await expect(startGateway({ ...config, listen: { host: '127.0.0.1', port: 0 } }))
      .rejects.toThrow(new RegExp(`plugins\\.auth\\.config\\.credential: environment variable ${ENV} is not set`));
  });
});
