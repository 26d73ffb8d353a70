/** `praxis-wasm try` says why a sub-request was refused, not only that it was. */
import { describe, expect, it } from 'vitest';
import { pluginPath } from '../helpers/servers.ts';
import { runCli } from '../helpers/cli.ts';

const runTry = (args: string[]) => runCli(['try', ...args]);

describe('praxis-wasm try', () => {
  it('shows the denial reason of a sub-request to a host not allowed', async () => {
    const r = await runTry([pluginPath('guardrail'), '-c', JSON.stringify({ scannerUrl: 'http://127.0.0.1:9/scan', failMode: 'open' }), '-X', 'POST',
      '-d', JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as { subrequests: Array<{ url: string; outcome: string; reason?: string }> };
    expect(report.subrequests).toEqual([expect.objectContaining({ url: 'http://127.0.0.1:9/scan', outcome: 'denied', reason: 'host 127.0.0.1:9 not allowed' })]);
  });
});
