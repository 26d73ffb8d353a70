/** `praxis-wasm try` says why a sub-request was refused, not only that it was. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pluginPath, ROOT } from '../helpers/servers.ts';

function runTry(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(`${ROOT}node_modules/.bin/node`, [`${ROOT}bin/praxis-wasm.js`, 'try', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

describe('praxis-wasm try', () => {
  it('shows the denial reason of a sub-request to a host not allowed', async () => {
    const r = await runTry([pluginPath('guardrail'), '-c', JSON.stringify({ scannerUrl: 'http://127.0.0.1:9/scan', failMode: 'open' }), '-X', 'POST',
      '-d', JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as { subrequests: Array<{ url: string; outcome: string; reason?: string }> };
    expect(report.subrequests).toEqual([expect.objectContaining({ url: 'http://127.0.0.1:9/scan', outcome: 'denied', reason: 'host 127.0.0.1:9 not allowed' })]);
  });
});
