/**
 * The CLI as the processes a user starts: a signal to the `npm start` wrapper stops the gateway
 * behind it, `--version`, one line (no stack) for a busy port, and what an old Node is told.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../gateway/helpers.ts';
import { ROOT } from '../helpers/servers.ts';

const NODE24 = `${ROOT}node_modules/.bin/node`;
const BIN = `${ROOT}bin/praxis-wasm.js`;
const VERSION = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;

const groups: number[] = [];
const servers: Server[] = [];
afterEach(() => {
  // Each wrapper runs in its own process group: whatever it leaves behind goes with the group.
  for (const pgid of groups.splice(0)) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* already gone */ }
  }
  for (const s of servers.splice(0)) s.close();
});

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Whether any process of the group is still alive. */
function groupAlive(pgid: number): boolean {
  try { process.kill(-pgid, 0); return true; } catch { return false; }
}

function startNpm(args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn('npm', args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  groups.push(child.pid!);
  let err = '';
  child.stdout!.resume();
  child.stderr!.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  return { child, stderr: () => err };
}

async function busyPort(): Promise<number> {
  const s = createServer();
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as AddressInfo).port;
}

describe('signals to `npm start`', () => {
  // SIGTERM as a process manager or `kill` sends it: to npm alone (npm passes it to its shell,
  // which dies without passing it on). SIGINT as a terminal's Ctrl-C sends it: to the whole group.
  it.each([
    ['SIGTERM', 'to the npm process'],
    ['SIGINT', 'to the foreground process group'],
  ] as const)('%s %s stops the gateway behind it (no orphan on its port)', async (signal, target) => {
    const npm = startNpm(['start', '--', '--port', '0']);
    await until(() => /gateway on http:\/\/127\.0\.0\.1:\d+/.test(npm.stderr()), 'the demo gateway to listen', 60_000);
    const port = Number(/gateway on http:\/\/127\.0\.0\.1:(\d+)/.exec(npm.stderr())![1]);
    expect(await accepts(port)).toBe(true);
    const exited = new Promise<void>((r) => npm.child.once('exit', () => r()));
    if (target === 'to the npm process') npm.child.kill(signal);
    else process.kill(-npm.child.pid!, signal);
    await exited;
    // The gateway drains and closes its port shortly after; an orphan would keep it open for good.
    let open = true;
    for (let i = 0; i < 40 && open; i++) {
      await new Promise((r) => setTimeout(r, 250));
      open = await accepts(port);
    }
    expect(open).toBe(false);
    await until(() => !groupAlive(npm.child.pid!), 'every process npm started to exit', 10_000);
  }, 90_000);
});

describe('praxis-wasm --version', () => {
  it("prints the package's version", () => {
    const r = spawnSync(NODE24, [BIN, '--version'], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });
});

describe('a busy port', () => {
  it('demo-upstream prints one line naming the port, no stack, and exits 1', async () => {
    const port = await busyPort();
    const r = spawnSync(NODE24, [BIN, 'demo-upstream', '--port', String(port)], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`praxis-wasm demo-upstream: cannot listen: 127.0.0.1:${port} is already in use (pick another port with --port)`);
  });

  it('run prints one line naming the port and exits 1', async () => {
    const port = await busyPort();
    const r = spawnSync(NODE24, [BIN, 'run', '--port', String(port)], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    const last = r.stderr.trim().split('\n').at(-1)!;
    expect(last).toBe(`praxis-wasm: cannot start: 127.0.0.1:${port} is already in use (pick another port with --port)`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('on an old Node, in a checkout', () => {
  // The version the CLI sees is set before it starts, so the check runs the same on every machine.
  const fake = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.11.0"})';
  const oldNode = (args: string[]) => spawnSync(NODE24, ['--import', fake, BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 10_000 });

  it('points at npm start (its scripts get Node 24 from npm ci), never at npx', () => {
    const r = oldNode(['run', '--config', 'my gateway.yaml']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/Run it with Node 24: npm start -- --config 'my gateway\.yaml'$/m);
    expect(r.stderr).not.toMatch(/npx/);
  });

  it('other commands go through npm run cli', () => {
    const r = oldNode(['inspect', 'x.wasm']);
    expect(r.stderr).toMatch(/Run it with Node 24: npm run cli -- inspect x\.wasm$/m);
  });
});
