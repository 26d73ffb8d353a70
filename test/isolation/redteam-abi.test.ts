/**
 * Red-team: a guest that breaks the canonical ABI's contract with the host: `cabi_realloc`
 * answering pointers outside its memory or the same pointer every time, a post-return function
 * that traps. Each must end the call as a failure of that plugin (or a garbled answer it owns),
 * never a host crash, and the next request is served by a fresh instance.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '@bytecodealliance/jco';
import { describe, expect, it } from 'vitest';
import { componentize } from '../../runtime/build/componentize.ts';
import { WIT_OF, hostileWat } from '../helpers/hostile.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startEchoUpstream, startTestGateway } from '../helpers/servers.ts';
import { jsonError, oneRoute } from '../gateway/helpers.ts';

const track = useCleanup();

/** The hostile baseline with `edit` applied to its WAT text. */
async function editedFile(edit: (wat: string) => string): Promise<string> {
  const wat = edit(hostileWat({}));
  const path = join(await mkdtemp(join(tmpdir(), 'praxis-redteam-')), 'hostile.wasm');
  await writeFile(path, await componentize(await parse(wat), WIT_OF['0.1.0']));
  return path;
}

const REALLOC_RESULT = '    (local.get $p))\n  (func (export "praxis:filter/filter@0.1.0#configure")';

const CASES: Record<string, (wat: string) => string> = {
  // Configure's own argument is lowered through realloc too: start misbehaving on the 3rd call.
  'cabi_realloc answers a pointer past the end of memory': (w) => w.replace('(global $heap (mut i32) (i32.const 4096))', '(global $heap (mut i32) (i32.const 4096)) (global $calls (mut i32) (i32.const 0))')
    .replace(REALLOC_RESULT, REALLOC_RESULT.replace('(local.get $p))', '(global.set $calls (i32.add (global.get $calls) (i32.const 1))) (select (i32.const -16) (local.get $p) (i32.gt_u (global.get $calls) (i32.const 2))))')),
  'cabi_realloc answers a negative pointer': (w) => w.replace(REALLOC_RESULT, REALLOC_RESULT.replace('(local.get $p))', '(select (i32.const 0x80000000) (local.get $p) (i32.gt_u (local.get $size) (i32.const 20))))')),
  'the post-return of on-request-headers traps': (w) => w.replace('(func (export "cabi_post_praxis:filter/filter@0.1.0#on-request-headers") (param i32))', '(func (export "cabi_post_praxis:filter/filter@0.1.0#on-request-headers") (param i32) unreachable)'),
};

describe('a guest that breaks the ABI contract', () => {
  for (const [name, edit] of Object.entries(CASES)) {
    it(`${name}: the call fails as that plugin's failure; the gateway keeps serving`, async () => {
      const up = track(await startEchoUpstream());
      const gw = track(await startTestGateway({
        ...oneRoute({ abi: { path: await editedFile(edit), ejection: { failures: 1000 } } }, ['abi'], { main: up.url }),
        routes: [
          { name: 'bad', upstream: 'main', filters: ['abi'], match: { pathPrefix: '/bad' } },
          { name: 'good', upstream: 'main', filters: [] },
        ],
      }));
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${gw.url}/bad`, { headers: { 'x-long-header-value': 'v'.repeat(100) } });
        expect(res.status).toBe(500);
        const err = jsonError(await res.text());
        expect(err).toMatchObject({ type: 'filter_failed', plugin: 'abi' });
        expect(JSON.stringify(err)).not.toMatch(/bounds|unreachable|0x|pointer/i);
        expect((await fetch(`${gw.url}/good`)).status).toBe(200);
      }
      expect(up.seen.filter((s) => s.url === '/bad')).toHaveLength(0);
    });
  }
});
