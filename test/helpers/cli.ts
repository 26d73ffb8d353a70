/** Runs the `praxis-wasm` CLI of this checkout as a child process, on the project's Node 24. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { ROOT, type TestServer } from './servers.ts';

export interface CliResult { code: number | null; out: string; err: string }

/** A CLI child started in the background, its output gathered as it comes. */
export interface CliProcess { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> }

/** Starts the CLI; `children` (a processScope's) gets the child so it is killed after the test. */
export function startCli(args: string[], children?: ChildProcess[]): CliProcess {
  const child = spawn(`${ROOT}node_modules/.bin/node`, [`${ROOT}bin/praxis-wasm.js`, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children?.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  child.stderr!.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  return { child, out: () => out, err: () => err, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

/** Runs the CLI to its exit. */
export async function runCli(args: string[]): Promise<CliResult> {
  const p = startCli(args);
  const code = await p.exited;
  return { code, out: p.out(), err: p.err() };
}

/**
 * What a test file that starts CLI processes holds: a temp folder (removed after the file), and
 * the children and servers it started (killed and closed after each test, so a failing test
 * leaves no gateway behind). Call at the top level of the test file.
 */
export function processScope(prefix: string): { dir: string; children: ChildProcess[]; servers: TestServer[] } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const children: ChildProcess[] = [];
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return { dir, children, servers };
}
