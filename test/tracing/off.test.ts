/**
 * Tracing off: the gateway invents no `traceparent` for the upstream where none came in (and
 * passes a client's on unchanged, as before tracing existed), and no OpenTelemetry SDK module is
 * ever loaded; a child process records every module it resolves.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tracingOn } from '../../runtime/observability/tracing.ts';
import { ROOT, startEchoUpstream, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';

let upstream: TestServer;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  gw = await startTestGateway({ upstreams: { echo: { endpoints: [upstream.url] } }, routes: [{ name: 'main', upstream: 'echo' }] });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

describe('tracing off', () => {
  it('no traceparent is invented for the upstream; a client one passes unchanged', async () => {
    expect(tracingOn()).toBe(false);
    await (await fetch(`${gw.url}/a`)).text();
    expect(upstream.seen.at(-1)!.headers.traceparent).toBeUndefined();
    const client = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await (await fetch(`${gw.url}/b`, { headers: { traceparent: client } })).text();
    expect(upstream.seen.at(-1)!.headers.traceparent).toBe(client);
  });

  it('loads no OpenTelemetry SDK module; switched on, it does (the probe sees them)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'praxis-otel-off-'));
    try {
      const script = join(dir, 'probe.mjs');
      const root = pathToFileURL(ROOT).href;
      await writeFile(script, `
import { registerHooks } from 'node:module';
import { createServer } from 'node:http';
const seen = [];
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.push(r.url); return r; } });
const otel = () => [...new Set(seen.filter((u) => u.includes('/@opentelemetry/')).map((u) => u.split('/@opentelemetry/')[1].split('/')[0]))].sort();
const { tracingFromConfig } = await import('${root}runtime/observability/tracing-setup.ts');
const { startGateway } = await import('${root}runtime/gateway/gateway.ts');
const up = createServer((_q, s) => s.end('ok'));
await new Promise((r) => up.listen(0, '127.0.0.1', r));
const off = await tracingFromConfig(undefined, {});
const gw = await startGateway({ listen: { host: '127.0.0.1', port: 0 }, upstreams: { u: { endpoints: ['http://127.0.0.1:' + up.address().port] } }, routes: [{ name: 'r', upstream: 'u' }] }, { log: { level: 'silent' } });
const status = (await fetch(gw.url + '/x')).status;
const whenOff = otel();
const on = await tracingFromConfig({ enabled: true, exporter: 'none' }, {});
await (await fetch(gw.url + '/y')).text();
console.log(JSON.stringify({ off: off === undefined, status, whenOff, whenOn: otel() }));
await on.shutdown(); await gw.close(); up.close();
`);
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(`${ROOT}node_modules/.bin/node`, [script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OTEL_TRACES_EXPORTER: '' } });
        let o = '';
        let e = '';
        child.stdout.on('data', (c: Buffer) => { o += c.toString('utf8'); });
        child.stderr.on('data', (c: Buffer) => { e += c.toString('utf8'); });
        child.once('exit', (code) => (code === 0 ? resolve(o) : reject(new Error(`probe exited ${code}: ${e}`))));
      });
      const result = JSON.parse(out.trim().split('\n').at(-1)!) as { off: boolean; status: number; whenOff: string[]; whenOn: string[] };
      expect(result.off).toBe(true);
      expect(result.status).toBe(200);
      // Only the API (a few kB of no-op shims) is in the runtime's import graph.
      expect(result.whenOff.filter((m) => m !== 'api')).toEqual([]);
      expect(result.whenOn).toEqual(expect.arrayContaining(['core', 'resources', 'sdk-trace-base']));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
