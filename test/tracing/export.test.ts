/**
 * OTLP export end to end: `praxis-wasm run` with a `tracing` block sends its spans to a loopback
 * collector (a node:http server taking POST /v1/traces), named with the configured service name.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startEchoUpstream, startServer, type TestServer } from '../helpers/servers.ts';
import { until } from '../gateway/helpers.ts';

interface OtlpExport {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans: Array<{ spans: Array<{ name: string; kind: number; traceId: string; spanId: string }> }>;
  }>;
}

let collector: TestServer;
let upstream: TestServer;
let dir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  collector = await startServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{}'); });
  upstream = await startEchoUpstream();
  dir = await mkdtemp(join(tmpdir(), 'praxis-otlp-'));
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await Promise.all([collector?.close(), upstream?.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** Starts the CLI on `config`; resolves with the gateway's URL from its start-up line. */
function runGateway(config: string, env: Record<string, string> = {}): Promise<{ url: string; exited: Promise<number | null> }> {
  const proc = spawn(`${ROOT}node_modules/.bin/node`, [`${ROOT}bin/praxis-wasm.js`, 'run', '--config', config, '--port', '0'], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env },
  });
  child = proc;
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  let err = '';
  return new Promise((resolve, reject) => {
    proc.stderr!.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      const m = /gateway on (http:\/\/[^\s,]+)/.exec(err);
      if (m) resolve({ url: m[1]!, exited });
    });
    void exited.then((code) => reject(new Error(`gateway exited (${code}) before starting: ${err}`)));
  });
}

/** The CLI run to its exit, with `env` added. */
function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; err: string }> {
  const proc = spawn(`${ROOT}node_modules/.bin/node`, [`${ROOT}bin/praxis-wasm.js`, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, err })));
}

describe('OTLP export', () => {
  it('sends the spans of a request to the collector, with the service name, and flushes on SIGTERM', async () => {
    const config = join(dir, 'gateway.yaml');
    await writeFile(config, [
      'tracing:',
      '  enabled: true',
      `  endpoint: ${collector.url}`,
      '  serviceName: otlp-loopback-test',
      'upstreams:',
      `  echo: { endpoints: ["${upstream.url}"] }`,
      'routes:',
      '  - { name: main, upstream: echo }',
    ].join('\n'));
    // The environment names another service and a dead endpoint: the config wins.
    const gw = await runGateway(config, { OTEL_SERVICE_NAME: 'from-env', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    const r = await fetch(`${gw.url}/hello`);
    expect(r.status).toBe(200);
    await r.text();
    child!.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
    await until(() => collector.seen.length > 0, 'an OTLP export', 5000);
    const post = collector.seen[0]!;
    expect(post.method).toBe('POST');
    expect(post.url).toBe('/v1/traces');
    const body = JSON.parse(post.body) as OtlpExport;
    const resource = body.resourceSpans[0]!.resource.attributes;
    expect(resource.find((a) => a.key === 'service.name')?.value.stringValue).toBe('otlp-loopback-test');
    const spans = body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
    expect(spans.map((s) => s.name)).toEqual(expect.arrayContaining(['GET main', 'upstream echo']));
    // The upstream was told the upstream span's context.
    const up = spans.find((s) => s.name === 'upstream echo')!;
    const sent = String(upstream.seen.at(-1)!.headers.traceparent);
    expect(sent.split('-')[2]).toBe(Buffer.from(up.spanId, 'hex').length === 8 ? up.spanId : Buffer.from(up.spanId, 'base64').toString('hex'));
  });

  it('a collector that is down costs the requests nothing, and the gateway still stops on SIGTERM', async () => {
    const config = join(dir, 'down.yaml');
    await writeFile(config, [
      'tracing: { enabled: true, endpoint: "http://127.0.0.1:9" }',
      'upstreams:',
      `  echo: { endpoints: ["${upstream.url}"] }`,
      'routes:',
      '  - { name: main, upstream: echo }',
    ].join('\n'));
    const gw = await runGateway(config);
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${gw.url}/x${i}`);
      expect(r.status).toBe(200);
      await r.text();
    }
    child!.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
  });

  it('a bad OTEL_* value stops the start, naming the variable', async () => {
    const config = join(dir, 'plain.yaml');
    await writeFile(config, ['upstreams:', `  echo: { endpoints: ["${upstream.url}"] }`, 'routes:', '  - { name: main, upstream: echo }'].join('\n'));
    const r = await runCli(['run', '--config', config, '--port', '0'], { OTEL_TRACES_EXPORTER: 'jaeger' });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/OTEL_TRACES_EXPORTER: "jaeger"/);
  });
});
