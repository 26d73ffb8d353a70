/**
 * Reload of a running `praxis-wasm` process: SIGHUP swaps a plugin under load without a failed
 * request; with --workers the primary reloads every worker and logs each outcome; --watch-config
 * picks up an edit of the file.
 */
import { describe, expect, it } from 'vitest';
import { startEchoUpstream, type TestServer } from '../helpers/servers.ts';
import { sleep, until } from '../gateway/helpers.ts';
import { ask, startLoad, versioned, writeYaml } from './helpers.ts';
import { type CliProcess, processScope, startCli } from '../helpers/cli.ts';

const { dir, children, servers } = processScope('praxis-reload-cli-');

function start(args: string[]): CliProcess {
  return startCli(args, children);
}

async function setup(name: string): Promise<{ file: string; up: TestServer }> {
  const up = await startEchoUpstream();
  servers.push(up);
  return { file: writeYaml(dir, name, versioned('a', up.url, { listen: { host: '127.0.0.1', port: 0 } })), up };
}

describe('reload: the CLI', () => {
  it('kill -HUP on `praxis-wasm run` swaps a plugin without a single failed request', async () => {
    const { file, up } = await setup('hup.yaml');
    const cli = start(['run', '--config', file]);
    await until(() => /gateway on (http:\/\/\S+)/.test(cli.err()), 'the gateway banner', 60_000);
    const url = /gateway on (http:\/\/\S+)/.exec(cli.err())![1]!;
    const load = startLoad(`${url}/x`, 4);
    await until(() => load.done() > 20, 'traffic on version a', 10_000);
    writeYaml(dir, 'hup.yaml', versioned('b', up.url, { listen: { host: '127.0.0.1', port: 0 } }));
    cli.child.kill('SIGHUP');
    await until(() => /"msg":"config reloaded: version 2"/.test(cli.out()), 'the reload', 30_000);
    const after = load.done();
    await until(() => load.done() > after + 20, 'traffic on version b', 10_000);
    const result = await load.stop();
    expect(result.failed).toEqual([]);
    expect([...result.versions].sort()).toEqual(['a', 'b']);
    expect(await ask(`${url}/x`)).toEqual({ status: 200, version: 'b', out: 'b' });
    expect(cli.out()).toMatch(/"pluginsChanged":\["mark"\]/);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('--workers 2: SIGHUP reloads every worker and logs each one\'s outcome', async () => {
    const { file, up } = await setup('workers.yaml');
    const cli = start(['run', '--config', file, '--workers', '2']);
    await until(() => /2 workers on (http:\/\/\S+)/.test(cli.err()), 'the cluster banner', 60_000);
    const url = /workers on (http:\/\/\S+)/.exec(cli.err())![1]!;
    expect((await ask(`${url}/x`)).version).toBe('a');
    writeYaml(dir, 'workers.yaml', versioned('b', up.url, { listen: { host: '127.0.0.1', port: 0 } }));
    cli.child.kill('SIGHUP');
    await until(() => /reload: 2\/2 workers reloaded/.test(cli.out()), 'both workers to report', 30_000);
    const perWorker = cli.out().split('\n').filter((l) => /now serves version 2/.test(l)).map((l) => (JSON.parse(l) as { pid: number }).pid);
    expect(new Set(perWorker).size).toBe(2);
    for (let i = 0; i < 10; i++) expect(await ask(`${url}/x`)).toEqual({ status: 200, version: 'b', out: 'b' });
    // A broken file: each worker reports its failure and keeps serving.
    writeYaml(dir, 'workers.yaml', 'routes: [oops');
    cli.child.kill('SIGHUP');
    await until(() => /reload: 0\/2 workers reloaded/.test(cli.out()), 'both workers to report the failure', 30_000);
    expect(cli.out().split('\n').filter((l) => /failed, keeps version 2/.test(l))).toHaveLength(2);
    expect((await ask(`${url}/x`)).version).toBe('b');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('--watch-config reloads when the config file is edited', async () => {
    const { file, up } = await setup('watch.yaml');
    const cli = start(['run', '--config', file, '--watch-config']);
    await until(() => /gateway on (http:\/\/\S+)/.test(cli.err()), 'the gateway banner', 60_000);
    const url = /gateway on (http:\/\/\S+)/.exec(cli.err())![1]!;
    expect((await ask(`${url}/x`)).version).toBe('a');
    await sleep(300); // the watch is armed once the config was read for its plugin files
    writeYaml(dir, 'watch.yaml', versioned('b', up.url, { listen: { host: '127.0.0.1', port: 0 } }));
    await until(() => /config reloaded: version 2/.test(cli.out()), 'the watch to reload', 30_000);
    expect(await ask(`${url}/x`)).toEqual({ status: 200, version: 'b', out: 'b' });
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('kill -HUP on `praxis-wasm extproc` reloads it, and a broken file keeps it serving', async () => {
    const { file, up } = await setup('extproc.yaml');
    const cli = start(['extproc', '--config', file, '--port', '0']);
    await until(() => /ext_proc service on/.test(cli.err()), 'the ext_proc banner', 60_000);
    writeYaml(dir, 'extproc.yaml', versioned('b', up.url, { listen: { host: '127.0.0.1', port: 0 } }));
    cli.child.kill('SIGHUP');
    await until(() => /"msg":"config reloaded: version 2"/.test(cli.out()), 'the reload', 30_000);
    writeYaml(dir, 'extproc.yaml', { ...versioned('c', up.url), bogus: true });
    cli.child.kill('SIGHUP');
    await until(() => /config reload failed, version 2 keeps serving: .*bogus/.test(cli.out()), 'the failed reload', 30_000);
    expect(cli.child.exitCode).toBe(null);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });
});
