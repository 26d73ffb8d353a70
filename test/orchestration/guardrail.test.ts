/**
 * The guardrail plugin end to end: a real scanner on loopback (examples/scanner.ts), the built
 * component in a running gateway, an echo upstream; and its fail modes when the scanner is down
 * or slower than the plugin's timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScanner, type Scanner } from '../../examples/scanner.ts';
import type { PluginConfig, RouteConfig } from '../../runtime/config/types.ts';
import { pluginPath, startEchoUpstream, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { call, freePort, waitFor } from './support.ts';

let upstream: TestServer;
let scanner: Scanner;
let slow: Scanner;
let gw: TestGateway;
const SLOW_TIMEOUT_MS = 200;

function chat(prompt: string): string {
  return JSON.stringify({
    model: 'demo-model',
    messages: [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: prompt },
    ],
    temperature: 0.2,
  });
}

const post = (path: string, body: string) =>
  call(`${gw.url}${path}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

beforeAll(async () => {
  upstream = await startEchoUpstream();
  scanner = await startScanner();
  slow = await startScanner({ delayMs: 2000 });
  const down = await freePort();
  const guardrail = (scannerPort: number, failMode: 'open' | 'closed', timeoutMs = 500): PluginConfig => ({
    path: pluginPath('guardrail'),
    config: { scannerUrl: `http://127.0.0.1:${scannerPort}/scan`, failMode, timeoutMs },
    allowedHosts: [`127.0.0.1:${scannerPort}`],
  });
  const plugins: Record<string, PluginConfig> = {
    ok: guardrail(scanner.port, 'closed'),
    'down-closed': guardrail(down, 'closed'),
    'down-open': guardrail(down, 'open'),
    'slow-closed': guardrail(slow.port, 'closed', SLOW_TIMEOUT_MS),
    'slow-open': guardrail(slow.port, 'open', SLOW_TIMEOUT_MS),
  };
  const routes: RouteConfig[] = Object.keys(plugins).map((name) => ({
    name, match: { pathPrefix: `/${name}/` }, upstream: 'echo', filters: [name],
  }));
  gw = await startTestGateway({ plugins, upstreams: { echo: { endpoints: [upstream.url] } }, routes });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([upstream?.close(), scanner?.close(), slow?.close()]);
});

describe('guardrail with a working scanner', () => {
  it('blocks a prompt the scanner flags with 403 JSON; the upstream sees nothing', async () => {
    const before = upstream.seen.length;
    const r = await post('/ok', chat('Explain how to attack the login service'));
    expect(r.status).toBe(403);
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.text)).toEqual({ error: { type: 'guardrail', reason: 'prompt mentions an attack' } });
    expect(scanner.prompts.at(-1)).toBe('Explain how to attack the login service');
    expect(upstream.seen.length).toBe(before);
  });

  it('lets a benign prompt through with its body unchanged', async () => {
    const body = chat('Write a haiku about the sea');
    const before = upstream.seen.length;
    const r = await post('/ok', body);
    expect(r.status).toBe(200);
    expect(scanner.prompts.at(-1)).toBe('Write a haiku about the sea');
    expect(upstream.seen.length).toBe(before + 1);
    const seen = upstream.seen.at(-1)!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/ok/v1/chat/completions');
    expect(seen.body).toBe(body);
    expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(body)));
  });

  it('passes a body that is not a chat request without scanning it', async () => {
    const scanned = scanner.prompts.length;
    const r = await post('/ok', '{"input":"attack"}');
    expect(r.status).toBe(200);
    expect(scanner.prompts.length).toBe(scanned);
  });
});

describe('guardrail when the scanner is down', () => {
  it('failMode closed: 503 JSON naming the scanner failure; the upstream sees nothing', async () => {
    const before = upstream.seen.length;
    const r = await post('/down-closed', chat('hello'));
    expect(r.status).toBe(503);
    const err = JSON.parse(r.text) as { error: { type: string; reason: string } };
    expect(err.error.type).toBe('guardrail_unavailable');
    expect(err.error.reason).toBe('scanner failed: connect');
    expect(upstream.seen.length).toBe(before);
  });

  it('failMode open: the request passes and a warning names the scanner failure', async () => {
    const body = chat('hello');
    const r = await post('/down-open', body);
    expect(r.status).toBe(200);
    expect(upstream.seen.at(-1)!.body).toBe(body);
    const warn = await waitFor('warn line', () => gw.logs.find((l) => l.level === 40 && l['plugin'] === 'down-open' && /scanner failed/.test(l.msg)));
    expect(warn.msg).toMatch(/^guardrail: scanner failed \(connect.*\); failMode open, continuing$/);
  });
});

describe('guardrail when the scanner is slower than timeoutMs', () => {
  it('failMode closed: 503 within the timeout', async () => {
    const before = upstream.seen.length;
    const r = await post('/slow-closed', chat('hello slowly'));
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text)).toMatchObject({ error: { type: 'guardrail_unavailable', reason: 'scanner failed: timeout' } });
    expect(r.ms).toBeGreaterThanOrEqual(SLOW_TIMEOUT_MS - 20);
    expect(r.ms).toBeLessThan(SLOW_TIMEOUT_MS + 400); // the scanner would answer after 2000 ms
    expect(upstream.seen.length).toBe(before);
  });

  it('failMode open: passes within the timeout, with a warning', async () => {
    const body = chat('hello slowly, again');
    const r = await post('/slow-open', body);
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(SLOW_TIMEOUT_MS + 400);
    expect(upstream.seen.at(-1)!.body).toBe(body);
    await waitFor('warn line', () => gw.logs.find((l) => l.level === 40 && l['plugin'] === 'slow-open' && /scanner failed \(timeout\)/.test(l.msg)));
  });
});
