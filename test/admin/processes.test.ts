/** The admin endpoints as the CLI serves them: the demo's admin port, and a --workers primary's. */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { fixturePath, ROOT, startServer } from '../helpers/servers.ts';
import { until } from '../gateway/helpers.ts';
import { processScope } from '../helpers/cli.ts';

const NODE24 = `${ROOT}node_modules/.bin/node`;
const BIN = `${ROOT}bin/praxis-wasm.js`;
const { dir, children, servers } = processScope('praxis-admin-cli-');

function start(args: string[]): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(NODE24, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  return { child, stderr: () => err, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await request(url);
  return { status: res.statusCode, text: await res.body.text() };
}

describe('admin endpoints from the CLI', () => {
  it('the demo turns the admin port on and prints it; it reports ready with its three plugins', async () => {
    const cli = start(['run', '--port', '0']);
    await until(() => /admin on (http:\/\/\S+):/.test(cli.stderr()), 'the demo to print its admin URL', 60_000);
    const admin = /admin on (http:\/\/\S+):/.exec(cli.stderr())![1]!;
    expect((await get(`${admin}/readyz`)).status).toBe(200);
    const plugins = JSON.parse((await get(`${admin}/plugins`)).text) as Array<{ name: string; sha256: string }>;
    expect(plugins.map((p) => p.name)).toEqual(['request-headers', 'header-router', 'deny-list']);
    expect(plugins[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await get(`${admin}/metrics`)).text).toContain('praxis_');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('a --workers primary is ready once every worker is, lists each worker\'s plugins, and is not ready while draining', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const upstream = await startServer(async (req, res) => {
      if (req.url === '/slow') await held;
      res.end('ok');
    });
    servers.push(upstream);
    const file = join(dir, 'cluster.yaml');
    writeFileSync(file, [
      'listen: { host: 127.0.0.1, port: 0 }',
      'admin: { host: 127.0.0.1, port: 0 }',
      'plugins:',
      `  t: { path: ${fixturePath('testkit')}, config: { apiToken: s3cr3t-value } }`,
      'upstreams:',
      `  main: { endpoints: ["${upstream.url}"] }`,
      'routes:',
      '  - { name: all, upstream: main, filters: [t] }',
      '',
    ].join('\n'));
    const cli = start(['run', '--config', file, '--workers', '2']);
    await until(() => /workers on (http:\/\/\S+) .*admin on (http:\/\/\S+)/.test(cli.stderr()), 'the cluster banner', 60_000);
    const [, url, admin] = /workers on (http:\/\/\S+) .*admin on (http:\/\/\S+)/.exec(cli.stderr())!;
    expect(await get(`${admin}/readyz`)).toEqual({ status: 200, text: '2/2 workers ready\n' });
    const view = JSON.parse((await get(`${admin}/plugins`)).text) as { workers: Array<{ pid: number; plugins: Array<{ name: string }> }> };
    expect(view.workers).toHaveLength(2);
    for (const w of view.workers) expect(w.plugins.map((p) => p.name)).toEqual(['t']);
    const config = (await get(`${admin}/config`)).text;
    expect(config).not.toContain('s3cr3t-value');
    expect(config).toContain('[redacted]');

    const slow = request(`${url}/slow`).then((r) => r.body.text());
    await until(() => upstream.seen.some((s) => s.url === '/slow'), 'the slow request to reach the upstream', 10_000);
    cli.child.kill('SIGTERM');
    let draining = await get(`${admin}/readyz`);
    for (let i = 0; i < 100 && draining.status === 200; i++) draining = await get(`${admin}/readyz`);
    expect(draining.status).toBe(503);
    expect(draining.text).toMatch(/draining/);
    expect((await get(`${admin}/healthz`)).status).toBe(200);
    release();
    expect(await slow).toBe('ok');
    expect(await cli.exited).toBe(0);
  });
});
