/**
 * Red-team: a filter whose answers are legal in shape but hostile in size or in how they end.
 * A header list of 100,000 entries cost the gateway about 2 s of its thread per call (lifting,
 * checking, writing the head), outside any fuel; recursion that overflows the stack on every
 * call, under JSPI, must end each call cleanly and leave the gateway serving.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPORTS, hostileComponent, type HostileParts } from '../helpers/hostile.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startEchoUpstream, startTestGateway } from '../helpers/servers.ts';
import { jsonError, oneRoute } from '../gateway/helpers.ts';

const track = useCleanup();

async function hostileFile(parts: HostileParts): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'praxis-redteam-')), 'hostile.wasm');
  await writeFile(path, await hostileComponent(parts));
  return path;
}

/** Both header hooks answer `continue` with `n` set-headers, each "a: b" (one pair of strings, aliased). */
function manyHeaders(n: number): HostileParts {
  return {
    pages: 64,
    extra: `(data (i32.const 200) "ab")
    (func $many (result i32) (local $i i32)
      (memory.fill (i32.const 2048) (i32.const 0) (i32.const 48))
      (i32.store8 (i32.const 2052) (i32.const 1))
      (i32.store (i32.const 2056) (i32.const 65536))
      (i32.store (i32.const 2060) (i32.const ${n}))
      (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (i32.const ${n})))
        (i32.store (i32.add (i32.const 65536) (i32.mul (local.get $i) (i32.const 16))) (i32.const 200))
        (i32.store (i32.add (i32.const 65540) (i32.mul (local.get $i) (i32.const 16))) (i32.const 1))
        (i32.store (i32.add (i32.const 65544) (i32.mul (local.get $i) (i32.const 16))) (i32.const 201))
        (i32.store (i32.add (i32.const 65548) (i32.mul (local.get $i) (i32.const 16))) (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
      (i32.const 2048))`,
    requestHeaders: '(return (call $many))',
    responseHeaders: '(return (call $many))',
  };
}

describe('hostile answers', () => {
  it('a continue with 100,000 set-headers is refused as a failure, quickly; 100 are fine', async () => {
    const up = track(await startEchoUpstream());
    const huge = track(await startTestGateway(oneRoute({ h: { path: await hostileFile(manyHeaders(100_000)) } }, ['h'], { main: up.url })));
    const t0 = performance.now();
    const res = await fetch(`${huge.url}/x`);
    expect(res.status).toBe(500); // was: 100,000 headers to the upstream and the client (HeadersOverflowError), ~2 s
    expect(jsonError(await res.text())).toMatchObject({ type: 'filter_failed', plugin: 'h' });
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(up.seen).toHaveLength(0);

    const fine = track(await startTestGateway(oneRoute({ h: { path: await hostileFile(manyHeaders(100)) } }, ['h'], { main: up.url })));
    const ok = await fetch(`${fine.url}/x`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('a')?.split(', ')).toHaveLength(100);
  });

  it('recursion that overflows the stack on every call (a hook that may suspend) fails each call; the gateway keeps serving', async () => {
    const up = track(await startEchoUpstream());
    const parts: HostileParts = {
      imports: IMPORTS.subrequest,
      extra: '(func $r (param i32) (result i32) (call $r (i32.add (local.get 0) (i32.const 1))))',
      requestHeaders: '(drop (call $r (i32.const 0)))',
    };
    const gw = track(await startTestGateway({
      ...oneRoute({ r: { path: await hostileFile(parts), ejection: { failures: 1000 } } }, ['r'], { main: up.url }),
      routes: [
        { name: 'bad', upstream: 'main', filters: ['r'], match: { pathPrefix: '/bad' } },
        { name: 'good', upstream: 'main', filters: [] },
      ],
    }));
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${gw.url}/bad`);
      expect(res.status).toBe(500);
      expect(await res.text()).not.toMatch(/stack|Maximum/);
      expect((await fetch(`${gw.url}/good`)).status).toBe(200);
    }
    expect(gw.logs.filter((l) => l.plugin === 'r' && l.kind === 'trap')).toHaveLength(5);
  });
});
