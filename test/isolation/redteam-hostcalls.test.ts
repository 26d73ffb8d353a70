/**
 * Red-team: a hook that calls host imports in an endless loop. Fuel counts the guest's
 * instructions, not the host's work per import call, so each import must cost the guest fuel
 * too: otherwise one call spends seconds of the gateway's thread inside cheap-looking imports.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GuestTrap } from '../../runtime/component/errors.ts';
import { loadComponent } from '../../runtime/component/loader.ts';
import { IMPORTS, INFO, hostileComponent, type HostileParts, quietHost, requestHead } from '../helpers/hostile.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startEchoUpstream, startTestGateway } from '../helpers/servers.ts';
import { oneRoute } from '../gateway/helpers.ts';

const track = useCleanup();
/** About 25-80 ms of guest code here; uncharged, the host calls it buys took 5 s to minutes. */
const FUEL = 200_000_000;

async function hostileFile(parts: HostileParts): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'praxis-redteam-')), 'hostile.wasm');
  await writeFile(path, await hostileComponent(parts));
  return path;
}

/** An endless loop around `body` in on-request-headers. */
function forever(imports: string, body: string, extra = ''): HostileParts {
  return {
    pages: 4,
    imports,
    extra: `(data (i32.const 128) "GET") (data (i32.const 160) "http://denied.invalid/x") (data (i32.const 192) "k") ${extra}`,
    requestHeaders: `(loop $l (global.set $heap (i32.const 4096)) ${body} (br $l))`,
  };
}

const LOOPS: Record<string, HostileParts> = {
  log: forever(IMPORTS.log, '(call $log (i32.const 0) (i32.const 64) (i32.const 7))'),
  'context.get': forever(IMPORTS.contextGet, '(call $ctx_get (i32.const 192) (i32.const 1) (i32.const 8192))'),
  'context.set': forever(IMPORTS.contextSet, '(call $ctx_set (i32.const 192) (i32.const 1) (i32.const 64) (i32.const 7))'),
  'http-subrequest (denied)': forever(IMPORTS.subrequest,
    '(call $sub (i32.const 128) (i32.const 3) (i32.const 160) (i32.const 23) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 8192))'),
};

describe('host imports called in an endless loop', () => {
  for (const [name, parts] of Object.entries(LOOPS)) {
    it(`${name}: the call is stopped by its CPU budget, host time included`, async () => {
      const up = track(await startEchoUpstream());
      const path = await hostileFile(parts);
      const gw = track(await startTestGateway(oneRoute({ loop: { path, maxLoopIterations: FUEL } }, ['loop'], { main: up.url })));
      const t0 = performance.now();
      const res = await fetch(`${gw.url}/x`);
      const ms = performance.now() - t0;
      expect(res.status).toBe(500);
      await res.text();
            expect(ms).toBeLessThan(3000);
      expect(gw.logs.some((l) => l.plugin === 'loop' && l.kind === 'cpu-budget')).toBe(true);
      // The gateway is fine afterwards: the instance was replaced.
      expect((await fetch(`${gw.url}/x`)).status).toBe(500);
    }, 15_000);
  }

  it('http-subrequest-all with 10,000 requests traps on its budget before any is sent', async () => {
    const up = track(await startEchoUpstream());
    const path = await hostileFile({
      pages: 16,
      imports: '(import "praxis:filter/http-client@0.1.0" "http-subrequest-all" (func $all (param i32 i32 i32)))',
      requestHeaders: '(call $all (i32.const 65536) (i32.const 10000) (i32.const 8192))',
    });
    const gw = track(await startTestGateway(oneRoute({ fan: { path, cpuBudgetMs: 50 } }, ['fan'], { main: up.url })));
    const res = await fetch(`${gw.url}/x`);
    expect(res.status).toBe(500);
    await res.text();
    expect(gw.logs.some((l) => l.plugin === 'fan' && l.kind === 'cpu-budget')).toBe(true);
    const access = gw.logs.find((l) => l.msg === 'access');
    expect(access?.subrequests).toEqual([]);
  });

  it('on the jco path too, host calls spend the guest\'s fuel', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'praxis-redteam-cache-'));
    const loaded = await loadComponent(await hostileComponent(LOOPS['context.get']!), { binding: 'jco', cacheDir, maxLoopIterations: FUEL / 4 });
    const inst = await loaded.factory.instantiate();
    const host = quietHost();
    await inst.configure(host, '{}');
    const t0 = performance.now();
    const err = await inst.onRequestHeaders(host, INFO, requestHead()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuestTrap);
    expect((err as GuestTrap).kind).toBe('cpu-budget');
    expect(performance.now() - t0).toBeLessThan(3000);
  }, 15_000);
});
