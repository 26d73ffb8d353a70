/**
 * The soak gateway's routes: two well-behaved ones (a wasm filter, no filter) and a slow-body
 * one whose answers are checked, beside hostile plugins (spin, trap, memory, a WAT loop),
 * faulty upstreams (reset, stall) and a sub-request that never returns.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GatewayConfig, PluginConfig } from '../../runtime/config/types.ts';
import { hostileComponent } from '../../test/helpers/hostile.ts';
import type { SoakUpstreams } from './upstreams.ts';

const TESTKIT = fileURLToPath(new URL('../../test/fixtures/testkit/dist/testkit.wasm', import.meta.url));

function testkit(config: Record<string, unknown>, extra: Partial<PluginConfig> = {}): PluginConfig {
  return { path: TESTKIT, config, ...extra };
}

/** A filter whose request hook loops forever (only its CPU bound ends it), written to a temp file. */
async function loopingComponent(): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), 'praxis-soak-')), 'wat-loop.wasm');
  writeFileSync(file, await hostileComponent({ requestHeaders: '(loop $spin (br $spin))' }));
  return file;
}

export async function soakConfig(up: SoakUpstreams): Promise<GatewayConfig> {
  const stallHost = new URL(up.stall.url).host;
  const route = (name: string, upstream: string, filters: string[], extra: Record<string, unknown> = {}) =>
    ({ name, match: { pathPrefix: `/${name}` }, upstream, filters, ...extra });
  return {
    listen: { host: '127.0.0.1', port: 0 },
    plugins: {
      good: testkit({ name: 'good', setRequestHeader: ['x-soak-filter', 'wasm'] }),
      spin: testkit({ name: 'spin', spinIfHeader: 'x-spin' }),
      trap: testkit({ name: 'trap', trapIfHeader: 'x-trap' }),
      alloc: testkit({ name: 'alloc', allocIfHeader: 'x-alloc' }, { memoryLimitMb: 32 }),
      sub: testkit({ name: 'sub', subrequestUrlHeader: 'x-sub-url' }, { allowedHosts: [stallHost], subrequests: { timeoutMs: 300 } }),
      wat: { path: await loopingComponent() },
    },
    upstreams: {
      good: { endpoints: [up.good.url] },
      reset: { endpoints: [up.reset.url] },
      stall: { endpoints: [up.stall.url] },
      slow: { endpoints: [up.slow.url] },
    },
    routes: [
      route('ok', 'good', ['good']),
      route('plain', 'good', []),
      route('slow', 'slow', []),
      route('stall', 'stall', [], { timeoutMs: 800 }),
      route('reset', 'reset', []),
      route('spin', 'good', ['spin']),
      route('trap', 'good', ['trap']),
      route('alloc', 'good', ['alloc']),
      route('wat', 'good', ['wat']),
      route('sub', 'good', ['sub']),
    ],
    log: { level: 'silent' },
  };
}
