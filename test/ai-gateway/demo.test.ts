/**
 * examples/ai-gateway.yaml as shipped (plugins, backends, filters), pointed at fakes on free
 * ports: the OpenAI client is answered by the fallback when the primary fails, and the guardrail
 * blocks what the toy scanner flags. The CLI's own start of the same file is the last case.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScanner, type Scanner } from '../../examples/scanner.ts';
import { loadConfigFile } from '../../runtime/config/load.ts';
import { type FakeProvider, startFakeProvider } from '../../runtime/demo/providers.ts';
import { runCli } from '../helpers/cli.ts';
import { ROOT, startTestGateway, type TestGateway } from '../helpers/servers.ts';
import { ASK, client } from './helpers.ts';

const EXAMPLE = `${ROOT}examples/ai-gateway.yaml`;
const env = { OPENAI_API_KEY: 'sk-demo-openai', ANTHROPIC_API_KEY: 'sk-demo-anthropic' };
let primary: FakeProvider;
let fallback: FakeProvider;
let scanner: Scanner;
let gw: TestGateway;

beforeAll(async () => {
  Object.assign(process.env, env);
  primary = await startFakeProvider({ provider: 'openai', fail: '503', apiKey: env.OPENAI_API_KEY });
  fallback = await startFakeProvider({ provider: 'anthropic', apiKey: env.ANTHROPIC_API_KEY, delayMs: 2 });
  scanner = await startScanner({ port: 0 });
  const { config, baseDir } = await loadConfigFile(EXAMPLE);
  // The example's fixed ports, moved to the fakes' free ones.
  const [openai, anthropic] = config.upstreams.llm!.backends!;
  openai!.endpoints = [primary.url];
  anthropic!.endpoints = [fallback.url];
  // A budget small enough to spend in a few requests.
  (config.plugins!['token-budget']!.config as Record<string, unknown>).budget = 60;
  const guardrail = config.plugins!.guardrail!;
  guardrail.allowedHosts = [new URL(scanner.url).host];
  (guardrail.config as Record<string, unknown>).scannerUrl = `${scanner.url}/scan`;
  for (const p of Object.values(config.plugins ?? {})) p.path = resolve(baseDir, p.path);
  gw = await startTestGateway(config);
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([primary?.close(), fallback?.close(), scanner?.close()]);
  for (const k of Object.keys(env)) delete process.env[k];
});

describe('examples/ai-gateway.yaml', () => {
  it('answers through the fallback, translated, when the primary fails', async () => {
    const res = await client(`http://127.0.0.1:${gw.port}`, 'sk-client-1').chat.completions.create(ASK);
    expect(res.choices[0]!.message.content).toContain('fake anthropic provider (claude-3-5-haiku-latest)');
    expect(primary.requests.at(-1)!.headers.authorization).toBe(`Bearer ${env.OPENAI_API_KEY}`);
    expect(fallback.requests.at(-1)!.headers['x-api-key']).toBe(env.ANTHROPIC_API_KEY);
  });

  it('streams through the fallback', async () => {
    const stream = await client(`http://127.0.0.1:${gw.port}`, 'sk-client-2').chat.completions.create({ ...ASK, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain('You said: ping pong');
  });

  it('the guardrail blocks a flagged prompt before any provider sees it', async () => {
    const before = primary.requests.length + fallback.requests.length;
    const err = await client(`http://127.0.0.1:${gw.port}`, 'sk-client-3').chat.completions.create({
      model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'plan an attack' }],
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 403 });
    expect(primary.requests.length + fallback.requests.length).toBe(before);
  });

  it('charges the translated usage to the client\'s key: its budget runs out, another key\'s does not', async () => {
    const ai = client(`http://127.0.0.1:${gw.port}`, 'sk-client-budget');
    let answered = 0;
    let refused: unknown;
    for (let i = 0; i < 10 && !refused; i++) {
      await ai.chat.completions.create(ASK).then(() => answered++, (e: unknown) => { refused = e; });
    }
    expect(answered).toBeGreaterThanOrEqual(2);
    expect(refused).toMatchObject({ status: 429 });
    const other = await client(`http://127.0.0.1:${gw.port}`, 'sk-client-other').chat.completions.create(ASK);
    expect(other.choices[0]!.message.content).toContain('fake anthropic provider');
  });

  it('starts from the CLI (`praxis-wasm run --config examples/ai-gateway.yaml`) and serves', async () => {
    const child = spawn(process.execPath, [`${ROOT}bin/praxis-wasm.js`, 'run', '--config', EXAMPLE, '--port', '0'], {
      env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      const started = /gateway on (http:\/\/\S+)/;
      const deadline = Date.now() + 20_000;
      while (!started.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const url = started.exec(out)?.[1];
      expect(url, out).toBeDefined();
      // It serves: a path outside the chat route is the gateway's own 404.
      expect((await fetch(`${url}/not-a-route`)).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  });

  it('demo-upstream --provider starts a fake provider; a bad --provider or --fail is refused', async () => {
    const child = spawn(process.execPath, [`${ROOT}bin/praxis-wasm.js`, 'demo-upstream', '--provider', 'anthropic', '--port', '0', '--api-key', 'k'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      const started = /fake anthropic provider on (http:\/\/\S+)/;
      const deadline = Date.now() + 20_000;
      while (!started.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const url = started.exec(out)?.[1];
      expect(url, out).toBeDefined();
      const res = await fetch(`${url}/v1/messages`, {
        method: 'POST', headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect((await res.json()).type).toBe('message');
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
    const bad = await runCli(['demo-upstream', '--provider', 'azure']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--provider must be openai or anthropic');
    const badFail = await runCli(['demo-upstream', '--provider', 'openai', '--fail', 'sometimes']);
    expect(badFail.code).toBe(2);
  });
});
