/** `praxis-wasm/testing`: hooks of a real component, sub-requests mocked or real, and `try --mock`. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadFilter, MockError, parseMocks, runFilter, type TestFilter } from '../../runtime/testing/index.ts';
import { fixturePath, pluginPath, startServer, type TestServer } from '../helpers/servers.ts';
import { runCli } from '../helpers/cli.ts';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => { await Promise.all(open.splice(0).map((s) => s.close())); });
const track = <T extends TestFilter | TestServer>(x: T): T => { open.push(x); return x; };

const chat = (content: string) => JSON.stringify({ model: 'm', messages: [{ role: 'user', content }] });
const header = (h: Array<[string, string]>, name: string) => h.find(([k]) => k === name)?.[1];

describe('praxis-wasm/testing', () => {
  it('answers a sub-request from a mock and reports the decision, the rejection and the call made', async () => {
    const guardrail = track(await loadFilter(pluginPath('guardrail'), {
      config: { scannerUrl: 'http://scanner.test/scan' },
      mocks: [{ match: 'http://scanner.test/*', method: 'POST', response: { body: { verdict: 'block', reason: 'attack found' } } }],
    }));
    expect(guardrail.binding).toBe('fast');
    const r = await guardrail.run({ request: { method: 'POST', path: '/v1/chat/completions', body: chat('an attack plan') } });
    expect(r.steps.map((s) => s.hook)).toEqual(['on-request-body']);
    expect(r.rejected).toMatchObject({ hook: 'on-request-body', status: 403 });
    expect(JSON.parse(r.response.body)).toEqual({ error: { type: 'guardrail', reason: 'attack found' } });
    expect(r.subrequests).toEqual([expect.objectContaining({ method: 'POST', url: 'http://scanner.test/scan', mock: 0, outcome: 'ok', status: 200 })]);
    expect(JSON.parse(r.subrequests[0]!.body)).toEqual({ prompt: 'an attack plan' });
    expect(header(r.subrequests[0]!.headers, 'content-type')).toBe('application/json');

    // The same filter, another exchange: an allowing answer passes the body on unchanged.
    const pass = await guardrail.run({
      request: { method: 'POST', body: chat('hello') },
      mocks: [{ match: 'http://scanner.test/scan', response: { body: '{"verdict":"allow"}' } }],
    });
    expect(pass.rejected).toBeUndefined();
    expect(pass.request.body).toBe(chat('hello'));
    expect(pass.subrequests[0]!.mock).toBe(0); // the per-run rule, ahead of the load-time one
  });

  it('mocks an error kind, and a delay past the sub-request timeout answers timeout at the timeout', async () => {
    const failed = await runFilter(pluginPath('guardrail'), {
      config: { scannerUrl: 'http://scanner.test/scan', failMode: 'open' },
      mocks: [{ match: 'http://scanner.test/*', error: { kind: 'connect', reason: 'refused' } }],
      request: { method: 'POST', body: chat('hi') },
    });
    expect(failed.rejected).toBeUndefined();
    expect(failed.subrequests[0]).toMatchObject({ outcome: 'connect', reason: 'refused' });
    expect(failed.logs.some((l) => l.level === 'warn' && l.msg.includes('scanner failed'))).toBe(true);

    const slow = await runFilter(pluginPath('guardrail'), {
      config: { scannerUrl: 'http://scanner.test/scan', timeoutMs: 100 },
      mocks: [{ match: 'http://scanner.test/*', delayMs: 60_000, response: { body: { verdict: 'allow' } } }],
      request: { method: 'POST', body: chat('hi') },
    });
    expect(slow.subrequests[0]).toMatchObject({ outcome: 'timeout', timeoutMs: 100 });
    expect(slow.subrequests[0]!.durationMs).toBeLessThan(30_000);
    expect(slow.rejected).toMatchObject({ status: 503 }); // failMode closed

    const quick = await runFilter(pluginPath('guardrail'), {
      config: { scannerUrl: 'http://scanner.test/scan', timeoutMs: 5000 },
      mocks: [{ match: 'http://scanner.test/*', delayMs: 50, response: { body: { verdict: 'allow' } } }],
      request: { method: 'POST', body: chat('hi') },
    });
    expect(quick.subrequests[0]).toMatchObject({ outcome: 'ok' });
    expect(quick.subrequests[0]!.durationMs).toBeGreaterThanOrEqual(45);
  });

  it('an unmocked sub-request goes to the real bridge: denied without allowHosts, answered by a real server with it', async () => {
    const server = track(await startServer((_req, res) => { res.writeHead(200); res.end('from the network'); }));
    const testkit = fixturePath('testkit');
    const denied = await runFilter(testkit, { config: { subrequestUrlHeader: 'x-url' }, request: { headers: { 'x-url': `${server.url}/x` } } });
    expect(denied.subrequests[0]).toMatchObject({ outcome: 'denied', reason: expect.stringContaining('not allowed') });
    expect(header(denied.request.headers, 'x-sub-error')).toMatch(/^denied/);
    expect(server.seen).toHaveLength(0);

    const real = await runFilter(testkit, { config: { subrequestUrlHeader: 'x-url' }, allowHosts: ['127.0.0.1:*'], request: { headers: { 'x-url': `${server.url}/x` } } });
    expect(real.subrequests[0]).toMatchObject({ outcome: 'ok', status: 200 });
    expect(real.subrequests[0]!.mock).toBeUndefined();
    expect(header(real.request.headers, 'x-sub-body')).toBe('from the network');
    expect(server.seen).toHaveLength(1);
  });

  it('applies header mutations and upstream choice, runs response hooks, and keeps the context across hooks', async () => {
    const r = await runFilter(fixturePath('testkit'), {
      config: { setRequestHeader: ['x-a', '1'], removeRequestHeader: 'x-b', upstreamFromHeader: 'x-up', contextCounter: true, setResponseHeader: ['x-r', '2'] },
      request: { headers: [['x-b', 'gone'], ['x-up', 'blue']] },
      response: { status: 201, headers: { 'x-u': 'kept' }, body: 'ok' },
    });
    expect(r.steps.map((s) => s.hook)).toEqual(['on-request-headers', 'on-response-headers']);
    expect(header(r.request.headers, 'x-a')).toBe('1');
    expect(header(r.request.headers, 'x-b')).toBeUndefined();
    expect(r.request.upstream).toBe('blue');
    expect(r.response).toMatchObject({ status: 201, body: 'ok' });
    expect(header(r.response.headers, 'x-r')).toBe('2');
    expect(header(r.response.headers, 'x-u')).toBe('kept');
    expect(header(r.response.headers, 'x-context-count')).toBe('1');
  });

  it('a configure error fails the load with the reason; a mock rule error names the rule and key', async () => {
    await expect(loadFilter(pluginPath('guardrail'), { config: {} })).rejects.toThrow(/configure failed: guardrail: `scannerUrl` is required/);
    expect(() => parseMocks([{ match: 'http://a/*', response: { status: 99 } }])).toThrow(MockError);
    expect(() => parseMocks([{ match: 'http://a/*' }, { match: 'x', error: 'slow' }])).toThrow(/mocks\[1\]\.error: expected one of timeout, too-large/);
    expect(() => parseMocks([{ match: 'x', respons: {} }])).toThrow(/mocks\[0\]\.respons: unknown key/);
    expect(() => parseMocks([{ match: 'x', error: 'timeout', response: {} }])).toThrow(/either response or error/);
    // `times`: the first call gets the first rule, the next falls through to the second.
    const r = await runFilter(fixturePath('testkit'), {
      config: { fanoutUrlsHeader: 'x-urls' },
      mocks: [{ match: 'http://svc.test/*', times: 1, response: { status: 201 } }, { match: 'http://svc.test/*', error: 'overloaded' }],
      request: { headers: { 'x-urls': 'http://svc.test/a,http://svc.test/b' } },
    });
    expect(r.subrequests.map((s) => s.outcome).sort()).toEqual(['ok', 'overloaded']);
  });
});

describe('praxis-wasm try --mock', () => {
  it('answers sub-requests from the file and rejects a bad file naming the rule', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'praxis-try-mock-'));
    try {
      const good = join(dir, 'mocks.json');
      await writeFile(good, JSON.stringify([{ match: 'http://scanner.test/*', response: { body: { verdict: 'block', reason: 'nope' } } }]));
      const r = await runTry([pluginPath('guardrail'), '-c', JSON.stringify({ scannerUrl: 'http://scanner.test/scan' }), '-X', 'POST', '-d', chat('x'), '--mock', good]);
      expect(r.code, r.err).toBe(0);
      const report = JSON.parse(r.out) as { steps: Array<{ decision: unknown }>; subrequests: Array<{ url: string; mock?: number; outcome: string }> };
      expect(JSON.stringify(report.steps[0]!.decision)).toContain('"status":403');
      expect(report.subrequests).toEqual([expect.objectContaining({ url: 'http://scanner.test/scan', mock: 0, outcome: 'ok' })]);

      const bad = join(dir, 'bad.json');
      await writeFile(bad, JSON.stringify([{ match: 'http://scanner.test/*', delayMs: -1 }]));
      const b = await runTry([pluginPath('guardrail'), '-c', JSON.stringify({ scannerUrl: 'http://scanner.test/scan' }), '--mock', bad]);
      expect(b.code).toBe(1);
      expect(b.err).toContain(`${bad}[0].delayMs: expected a number of ms >= 0`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const runTry = (args: string[]) => runCli(['try', ...args]);
