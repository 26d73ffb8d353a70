/**
 * Shutdown that ends: SIGTERM under load (keep-alive clients, an endless stream being read, a
 * stream whose reader stopped reading behind a streaming filter) exits within the grace period
 * plus a little, as a real `praxis-wasm run` process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fixturePath, ROOT } from '../helpers/servers.ts';
import { sleep, until } from '../gateway/helpers.ts';

const NODE24 = `${ROOT}node_modules/.bin/node`;
const BIN = `${ROOT}bin/praxis-wasm.js`;
const GRACE_MS = 1000;
const dir = mkdtempSync(join(tmpdir(), 'praxis-shutdown-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

/** Echo for `/`, an endless trickle for `/sse`, an endless flood for `/flood` (never ends, until closed). */
async function upstream(): Promise<{ url: string; server: Server }> {
  const flood = Buffer.alloc(64 * 1024, 97);
  const server = createServer((req, res) => {
    req.resume();
    if (req.url === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const t = setInterval(() => res.write('data: tick\n\n'), 50);
      res.on('close', () => clearInterval(t));
    } else if (req.url === '/flood') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = () => { while (!res.destroyed && res.write(flood)); if (!res.destroyed) res.once('drain', pump); };
      pump();
    } else {
      res.end('ok');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => { server.closeAllConnections(); server.close(); });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function startCli(config: string): { child: ChildProcess; url: Promise<string>; exited: Promise<number | null> } {
  const child = spawn(NODE24, [BIN, 'run', '--config', config, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  cleanups.push(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let err = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      const m = /gateway on (http:\/\/[^\s,]+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`exited ${code} before listening: ${err}`)));
  });
  return { child, url, exited };
}

describe('praxis-wasm run: SIGTERM under load', () => {
  it(`exits within the grace period (${GRACE_MS} ms) plus a margin, with streams held open`, async () => {
    const up = await upstream();
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, [
      'plugins:',
      `  s:\n    path: ${fixturePath('testkit')}\n    config: { responseBody: stream }`,
      'upstreams:',
      `  main:\n    endpoints: ["${up.url}"]`,
      'routes:',
      '  - name: flood\n    match: { pathPrefix: /flood }\n    upstream: main\n    filters: [s]',
      '  - name: all\n    upstream: main',
      'limits:',
      `  shutdownGraceMs: ${GRACE_MS}`,
      'log:',
      '  level: warn',
      '',
    ].join('\n'));
    const cli = startCli(file);
    const url = await cli.url;
    const port = Number(new URL(url).port);

    // A few keep-alive clients, asking in a loop until the gateway goes.
    const agent = new Agent({ connections: 4 });
    cleanups.push(() => { void agent.destroy(); });
    let served = 0;
    let stop = false;
    const loops = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          const r = await request(`${url}/k`, { dispatcher: agent });
          await r.body.text();
          served++;
        } catch {
          return;
        }
      }
    });
    // An endless stream, being read.
    const sse = await request(`${url}/sse`, { dispatcher: agent });
    sse.body.on('data', () => {}).on('error', () => {});
    // A flood through a streaming filter, whose reader stopped reading (and never leaves).
    const stalled = connect(port, '127.0.0.1');
    stalled.on('error', () => {});
    cleanups.push(() => stalled.destroy());
    stalled.pause();
    stalled.write('GET /flood HTTP/1.1\r\nHost: x\r\n\r\n');

    await until(() => served >= 50, 'the keep-alive clients to get going', 10_000);
    await sleep(500);
    const signalled = Date.now();
    cli.child.kill('SIGTERM');
    const code = await cli.exited;
    const took = Date.now() - signalled;
    stop = true;
    await Promise.all(loops);
    expect(code).toBe(0);
    // Grace + about a second of forced closing; the margin is for a loaded CI machine.
    expect(took).toBeLessThan(GRACE_MS + 3000);
    expect(took).toBeGreaterThanOrEqual(GRACE_MS - 50);
  });
});
