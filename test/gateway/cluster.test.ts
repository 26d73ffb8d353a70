/** `run --workers N`: one gateway per core sharing the port, metrics aggregated by the primary. */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { fixturePath, ROOT, startServer } from '../helpers/servers.ts';
import { sleep, until } from './helpers.ts';
import { processScope } from '../helpers/cli.ts';

const NODE24 = `${ROOT}node_modules/.bin/node`;
const BIN = `${ROOT}bin/praxis-wasm.js`;
const { dir, children, servers } = processScope('praxis-cluster-');

interface ClusterCli {
  child: ChildProcess;
  url: Promise<string>;
  admin: Promise<string>;
  exited: Promise<number | null>;
  /** Access-log lines the workers wrote so far. */
  access: () => Array<{ pid: number; status: number; path: string }>;
}

function startCluster(config: string, workers: number): ClusterCli {
  const file = join(dir, `c${Date.now()}.yaml`);
  writeFileSync(file, config);
  const child = spawn(NODE24, [BIN, 'run', '--config', file, '--workers', String(workers)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const banner = new Promise<RegExpExecArray>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      const m = /workers on (http:\/\/\S+) \(config [^)]*\), admin on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m);
    });
    void exited.then((code) => reject(new Error(`exited ${code} before listening: ${err}`)));
  });
  const url = banner.then((m) => m[1]!);
  const admin = banner.then((m) => m[2]!);
  admin.catch(() => {}); // a test that expects a failed start awaits `url` only
  return {
    child, exited, url, admin,
    access: () => out.split('\n').filter((l) => l.includes('"log":"access"')).map((l) => JSON.parse(l) as { pid: number; status: number; path: string }),
  };
}

function config(upstream: string): string {
  return [
    'listen: { host: 127.0.0.1, port: 0 }',
    'admin: { host: 127.0.0.1, port: 0 }',
    'plugins:',
    `  t: { path: ${fixturePath('testkit')}, config: { order: true } }`,
    'upstreams:',
    `  main: { endpoints: ["${upstream}"] }`,
    'routes:',
    '  - { name: all, upstream: main, filters: [t] }',
    '',
  ].join('\n');
}

describe('praxis-wasm run --workers', () => {
  it('spreads requests over the workers, aggregates metrics, and drains on SIGTERM', async () => {
    const slow = await startServer(async (req, res) => {
      if (req.url?.startsWith('/slow')) await sleep(400);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
    servers.push(slow);
    const cli = startCluster(config(slow.url), 2);
    const url = await cli.url;
    // Fresh connections each time, so the primary's round-robin hands them to both workers.
    for (let i = 0; i < 30; i++) {
      const agent = new Agent();
      const r = await request(`${url}/r${i}`, { dispatcher: agent });
      expect(r.statusCode).toBe(200);
      await r.body.text();
      await agent.close();
    }
    await until(() => cli.access().length === 30, '30 access lines');
    expect(new Set(cli.access().map((l) => l.pid)).size).toBe(2);

    const metrics = await (await request(`${await cli.admin}/metrics`)).body.text();
    expect(metrics).toMatch(/^praxis_requests_total\{route="all",status="200"\} 30$/m);

    const inflight = Array.from({ length: 4 }, (_, i) => request(`${url}/slow${i}`, { dispatcher: new Agent() }).then(async (r) => {
      await r.body.text();
      return r.statusCode;
    }));
    await until(() => slow.seen.filter((s) => s.url.startsWith('/slow')).length === 4, 'the slow requests to reach the upstream');
    cli.child.kill('SIGTERM');
    expect(await Promise.all(inflight)).toEqual([200, 200, 200, 200]);
    expect(await cli.exited).toBe(0);
  });

  it('refuses --workers without --config, in one line', async () => {
    const child = spawn(NODE24, [BIN, 'run', '--workers', '2'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (c: Buffer) => { err += c.toString('utf8'); });
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(err.trim()).toBe('praxis-wasm: --workers needs --config (the demo runs in one process)');
  });

  it('stops every worker and exits 1 when a plugin cannot load', async () => {
    const cli = startCluster(config('http://127.0.0.1:9').replace(fixturePath('testkit'), '/nonexistent/x.wasm'), 2);
    await expect(cli.url).rejects.toThrow(/plugin "t" failed to load: cannot read \/nonexistent\/x\.wasm/);
    expect(await cli.exited).toBe(1);
  });
});
