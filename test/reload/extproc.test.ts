/** Reload in ext_proc mode: a stream open across a reload finishes on its version; new streams get the new one. */
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../gateway/helpers.ts';
import { EnvoyStream, mutationOf, requestHeaders, responseHeaders, startTestExtProc, type TestExtProc } from '../extproc/client.ts';
import { versioned } from './helpers.ts';

let ep: TestExtProc | undefined;
afterEach(async () => {
  await ep?.close();
  ep = undefined;
});

describe('reload: ext_proc', () => {
  it('swaps the plugins for new streams while an open stream finishes on the old ones', async () => {
    ep = await startTestExtProc(versioned('old', 'http://127.0.0.1:9'));
    const open = new EnvoyStream(ep.client);
    const first = await open.send(requestHeaders('/x'));
    expect(mutationOf(first.requestHeaders?.response?.headerMutation).set['x-version']).toEqual(['old']);

    const outcome = await ep.reload(versioned('new', 'http://127.0.0.1:9'));
    expect(outcome).toMatchObject({ ok: true, version: 2, changes: { pluginsChanged: ['mark'] } });
    expect(ep.configVersion()).toBe(2);

    const fresh = new EnvoyStream(ep.client);
    const r = await fresh.send(requestHeaders('/x'));
    expect(mutationOf(r.requestHeaders?.response?.headerMutation).set['x-version']).toEqual(['new']);
    fresh.end();

    // The open stream's response hook runs on the old pool, which is still there for it.
    const rr = await open.send(responseHeaders(200));
    expect(mutationOf(rr.responseHeaders?.response?.headerMutation).set['x-version-out']).toEqual(['old']);
    expect(ep.logs.some((l) => /version 1 drained and closed/.test(l.msg))).toBe(false);
    open.end();
    await until(() => ep!.logs.some((l) => /version 1 drained and closed/.test(l.msg)), 'the old version to close');
    expect(await ep.metrics()).toMatch(/praxis_config_version 2/);
  });
});
