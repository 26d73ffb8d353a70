/** `praxis-wasm try`: one filter on a sample request, sub-requests through the real bridge. */
import { afterEach, describe, expect, it } from 'vitest';
import { pluginPath, startServer, type TestServer } from '../helpers/servers.ts';
import { runCli } from '../helpers/cli.ts';

const servers: TestServer[] = [];
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => s.close())); });

const runTry = (args: string[]) => runCli(['try', ...args]);

interface TryReport {
  binding: string;
  steps: Array<{ hook: string; decision: unknown }>;
  logs: Array<{ level: string; msg: string }>;
  subrequests: Array<{ url: string; outcome: string; status?: number }>;
}

describe('praxis-wasm try', () => {
  it('shows each hook decision of a guardrail whose scanner blocks, with the sub-request it made', async () => {
    const scanner = await startServer((_req, res, body) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body.includes('attack') ? { verdict: 'block', reason: 'attack found' } : { verdict: 'allow' }));
    });
    servers.push(scanner);
    const chat = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'an attack plan' }] });
    const r = await runTry([pluginPath('guardrail'), '-c', JSON.stringify({ scannerUrl: `${scanner.url}/scan` }), '-X', 'POST', '--path', '/v1/chat/completions',
      '-H', 'content-type: application/json', '-d', chat, '--allow-host', '127.0.0.1:*']);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as TryReport;
    expect(report.binding).toBe('fast');
    // guardrail declares no header hooks (filter-info header-hooks), so try does not call them.
    expect(report.steps.map((s) => s.hook)).toEqual(['on-request-body']);
    expect(JSON.stringify(report.steps[0]!.decision)).toContain('"status":403');
    expect(report.subrequests).toEqual([expect.objectContaining({ url: `${scanner.url}/scan`, outcome: 'ok', status: 200 })]);
    expect(JSON.parse(scanner.seen[0]!.body)).toEqual({ prompt: 'an attack plan' });
  });

  it('sub-requests to hosts not allowed are denied, and a configure error exits 1 with the reason', async () => {
    const denied = await runTry([pluginPath('guardrail'), '-c', JSON.stringify({ scannerUrl: 'http://127.0.0.1:9/scan', failMode: 'open' }), '-X', 'POST',
      '-d', JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })]);
    expect(denied.code, denied.err).toBe(0);
    const report = JSON.parse(denied.out) as TryReport;
    expect(report.subrequests[0]!.outcome).toBe('denied');
    expect(report.logs.some((l) => l.level === 'warn' && l.msg.includes('scanner failed'))).toBe(true);

    const bad = await runTry([pluginPath('guardrail'), '-c', '{}']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/configure failed: guardrail: `scannerUrl` is required/);
  });
});
