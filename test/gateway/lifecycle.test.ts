/** The CLI as a process: graceful SIGTERM, the Node version check, and the built-in demo. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fixturePath, ROOT, startServer } from '../helpers/servers.ts';
import { sleep, until } from './helpers.ts';

const NODE24 = `${ROOT}node_modules/.bin/node`;
const BIN = `${ROOT}bin/praxis-wasm.js`;
const dir = mkdtempSync(join(tmpdir(), 'praxis-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Cli {
  child: ChildProcess;
  stderr: () => string;
  /** The gateway URL, from the `gateway on <url>` line. */
  url: Promise<string>;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function startCli(args: string[]): Cli {
  const child = spawn(NODE24, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stdout!.resume();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      const m = /gateway on (http:\/\/[^\s,]+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`exited ${code} before listening: ${err}`)));
  });
  return { child, stderr: () => err, url, exited };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

describe('praxis-wasm run --config', () => {
  it('SIGTERM lets in-flight requests finish with 200, exits 0, then refuses connections', async () => {
    const slow = await startServer(async (_req, res) => {
      await sleep(500);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('slow ok');
    });
    const agent = new Agent({ connections: 10 });
    try {
      const file = join(dir, 'gateway.yaml');
      writeFileSync(file, [
        'plugins:',
        `  t:\n    path: ${fixturePath('testkit')}\n    config: { order: true }`,
        'upstreams:',
        `  main:\n    endpoints: ["${slow.url}"]`,
        'routes:',
        '  - name: all\n    upstream: main\n    filters: [t]',
        '',
      ].join('\n'));
      const cli = startCli(['run', '--config', file, '--port', '0']);
      const url = await cli.url;
      const port = Number(new URL(url).port);
      const inflight = Array.from({ length: 5 }, (_, i) => request(`${url}/r${i}`, { dispatcher: agent })
        .then(async (r) => ({ status: r.statusCode, text: await r.body.text(), order: r.headers['x-order'] })));
      await until(() => slow.seen.length === 5, 'all 5 requests to reach the upstream');
      cli.child.kill('SIGTERM');
      const results = await Promise.all(inflight);
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(results.every((r) => r.text === 'slow ok' && r.order === 'testkit')).toBe(true);
      expect(await cli.exited).toBe(0);
      expect(await refused(port)).toBe(true);
    } finally {
      await agent.close();
      await slow.close();
    }
  });
});

describe('praxis-wasm on an old Node', () => {
  it('prints one line naming Node >= 24 and exits 1', () => {
    // The version the CLI sees is set before it starts, so the check runs the same on every machine.
    const fake = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.11.0"})';
    const r = spawnSync(NODE24, ['--import', fake, BIN, 'run'], { cwd: ROOT, encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Node\.js >= 24 \(found v20\.11\.0\)/);
    expect(r.stdout).toBe('');
  });
});

describe('praxis-wasm run (the demo)', () => {
  it('its first curl target answers with x-praxis-demo echoed by the demo upstream; SIGTERM stops it', async () => {
    const cli = startCli(['run', '--port', '0']);
    await cli.url;
    await until(() => /curl -s (\S+)/.test(cli.stderr()), 'the demo to print its curl lines');
    const target = /curl -s (\S+)/.exec(cli.stderr())![1]!;
    const r = await request(target);
    expect(r.statusCode).toBe(200);
    const echoed = (await r.body.json()) as { upstream: string; headers: Record<string, string> };
    expect(echoed.headers['x-praxis-demo']).toBe('added by the request-headers filter');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });
});
