/**
 * Reload under abuse, on a real `praxis-wasm run` process: a SIGHUP storm (50 in about a
 * second, the config alternating under it) while requests flow, then a SIGTERM racing reloads
 * still queued. No request fails, the last file wins, and the process exits cleanly.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { reloadOnSignal } from '../../runtime/cli/reload-signal.ts';
import type { ReloadOutcome } from '../../runtime/gateway/reload.ts';
import { startEchoUpstream, startTestGateway } from '../helpers/servers.ts';
import { sleep, until } from '../gateway/helpers.ts';
import { ask, startLoad, versioned, writeYaml } from '../reload/helpers.ts';
import { type CliProcess, processScope, startCli } from '../helpers/cli.ts';

const { dir, children, servers } = processScope('praxis-rt2-reload-');

/** Replaces the config by a rename, as a deploy tool would: a reload never reads a half-written file. */
function deploy(version: string, upstream: string, listen: object): void {
  renameSync(writeYaml(dir, 'storm.next.yaml', versioned(version, upstream, listen)), join(dir, 'storm.yaml'));
}

function start(args: string[]): CliProcess {
  return startCli(args, children);
}

describe('reload under abuse', () => {
  it('50 SIGHUPs in a second under load: no failed request, no crash, the last file serves; SIGTERM during queued reloads exits 0', async () => {
    const up = await startEchoUpstream();
    servers.push(up);
    const listen = { listen: { host: '127.0.0.1', port: 0 } };
    const file = writeYaml(dir, 'storm.yaml', versioned('a', up.url, listen));
    const cli = start(['run', '--config', file]);
    await until(() => /gateway on (http:\/\/\S+)/.test(cli.err()), 'the gateway banner', 60_000);
    const url = /gateway on (http:\/\/\S+)/.exec(cli.err())![1]!;
    const load = startLoad(`${url}/x`, 4);
    await until(() => load.done() > 20, 'traffic', 10_000);
    for (let i = 0; i < 50; i++) {
      deploy(i % 2 ? 'b' : 'c', up.url, listen);
      cli.child.kill('SIGHUP');
      await sleep(20);
    }
    deploy('z', up.url, listen);
    cli.child.kill('SIGHUP');
    // The last file's version answers once the reloads settle.
    const deadline = Date.now() + 60_000;
    let last = await ask(`${url}/x`);
    while (last.version !== 'z' && Date.now() < deadline) {
      await sleep(100);
      last = await ask(`${url}/x`);
    }
    expect(last).toEqual({ status: 200, version: 'z', out: 'z' });
    const result = await load.stop();
    expect(result.failed).toEqual([]);
    expect(cli.child.exitCode).toBeNull();
    expect(cli.out().split('\n').filter((l) => /config reload failed/.test(l))).toEqual([]);

    // A SIGTERM racing reloads still queued: a clean exit, within the grace period.
    for (let i = 0; i < 10; i++) {
      deploy(i % 2 ? 'b' : 'c', up.url, listen);
      cli.child.kill('SIGHUP');
      await sleep(5);
    }
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.err()).not.toMatch(/Unhandled|uncaught/i);
  });

  it('a burst of 50 SIGHUPs costs two reloads (the one running and one after it), not 50, and the last file serves', async () => {
    const up = await startEchoUpstream();
    servers.push(up);
    const file = writeYaml(dir, 'burst.yaml', versioned('a', up.url));
    const gw = await startTestGateway(versioned('a', up.url));
    const outcomes: ReloadOutcome[] = [];
    const signals = reloadOnSignal(file, gw, pino({ level: 'silent' }), { watch: false, debounceMs: 200, done: (o) => outcomes.push(o) });
    try {
      writeYaml(dir, 'burst.yaml', versioned('b', up.url));
      for (let i = 0; i < 50; i++) process.emit('SIGHUP', 'SIGHUP');
      await until(() => outcomes.length >= 2, 'the reloads', 30_000);
      await sleep(500); // any reload still queued would have finished by now
      expect(outcomes.map((o) => o.ok)).toEqual([true, true]);
      expect(gw.configVersion()).toBe(3);
      expect(await ask(`${gw.url}/x`)).toEqual({ status: 200, version: 'b', out: 'b' });
    } finally {
      signals.close();
      await gw.close();
    }
  });
});
