/** Runs the `praxis-wasm` CLI of this checkout as a child process, on the project's Node 24. */
import { spawn } from 'node:child_process';
import { ROOT } from './servers.ts';

export interface CliResult { code: number | null; out: string; err: string }

export function runCli(args: string[]): Promise<CliResult> {
  const child = spawn(`${ROOT}node_modules/.bin/node`, [`${ROOT}bin/praxis-wasm.js`, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}
