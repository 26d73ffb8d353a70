/**
 * Process helpers for the packaging test: run a command to its end, or start one in its own
 * process group and wait for a line; sizes; whether a port still accepts connections.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';

export interface Ran { status: number | null; stdout: string; stderr: string }

export interface RunOptions { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }

/** Runs `command args` to its end; never throws (the caller decides what a status means). */
export function run(command: string, args: string[], opts: RunOptions): Ran {
  const r = spawnSync(command, args, {
    cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/** Runs and fails with what it printed unless it exits 0. */
export function runOk(command: string, args: string[], opts: RunOptions): Ran {
  const r = run(command, args, opts);
  if (r.status !== 0) throw new Error(`\`${[command, ...args].join(' ')}\` exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r;
}

/** A long-running command in its own process group, so everything it starts can be found and ended. */
export class Background {
  readonly child: ChildProcess;
  private out = '';
  readonly exited: Promise<number | null>;

  constructor(command: string, args: string[], opts: RunOptions) {
    this.child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (c: Buffer) => { this.out += c.toString('utf8'); };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
  }

  /** Everything printed so far, stdout and stderr together. */
  output(): string { return this.out; }

  /** The first match of `pattern` in the output, waiting up to `ms`. */
  async waitFor(pattern: RegExp, what: string, ms: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = pattern.exec(this.out);
      if (m) return m;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`${what}: not seen (${this.child.exitCode !== null ? `exited ${this.child.exitCode}` : `${ms} ms`}); output:\n${this.out}`);
      }
      await sleep(100);
    }
  }

  /** Whether any process of its group is still alive. */
  groupAlive(): boolean {
    try { process.kill(-this.child.pid!, 0); return true; } catch { return false; }
  }

  /** Ends whatever is left of the group. */
  kill(): void {
    try { process.kill(-this.child.pid!, 'SIGKILL'); } catch { /* already gone */ }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Polls `check` every 200 ms until it holds or `ms` pass. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(200);
  }
}

/** Disk use of a folder in bytes (du: what the install really takes, blocks included). */
export function diskUse(dir: string): number {
  const r = runOk('du', ['-sk', dir], { cwd: dir });
  return Number(r.stdout.split('\t')[0]) * 1024;
}

export function megabytes(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}
