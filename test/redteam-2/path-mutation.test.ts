/**
 * A request filter's `:path` is the path the upstream gets, under the upstream URL's base path.
 * A hostile filter must not climb out of that base path with dot segments, nor hand the upstream
 * a network-path reference (`//host/x`, which many servers resolve as another authority).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneRoute, testkit } from '../gateway/helpers.ts';
import { startEchoUpstream, startTestGateway, type TestServer } from '../helpers/servers.ts';

let upstream: TestServer;
beforeAll(async () => { upstream = await startEchoUpstream(); });
afterAll(async () => { await upstream?.close(); });

/** The status the client got and the request-target the upstream saw (undefined: nothing sent). */
async function rewrite(path: string, base = ''): Promise<{ status: number; seen: string | undefined }> {
  upstream.seen.length = 0;
  const gw = await startTestGateway(oneRoute({ tk: testkit({ setRequestHeader: [':path', path] }) }, ['tk'], { main: upstream.url + base }));
  try {
    const res = await fetch(`http://127.0.0.1:${gw.port}/v1/x`);
    await res.text();
    return { status: res.status, seen: upstream.seen[0]?.url };
  } finally {
    await gw.close();
  }
}

describe(':path set by a filter', () => {
  it('cannot climb out of the upstream base path with dot segments, plain or encoded', async () => {
    for (const evil of ['/../admin', '/a/../../admin', '/%2e%2e/admin', '/.%2E/./admin']) {
      const { status, seen } = await rewrite(evil, '/api');
      if (seen !== undefined) expect(seen.startsWith('/api/'), `${evil} reached ${seen}`).toBe(true);
      if (seen !== undefined) expect(seen).not.toMatch(/\/\.\.?(\/|$)|%2e/i);
      expect([200, 500]).toContain(status);
    }
  });

  it('never reaches the upstream as a network-path reference (//host/...)', async () => {
    for (const evil of ['//evil.example/x', '///evil.example/x', '/.//evil.example/x']) {
      const { seen } = await rewrite(evil);
      if (seen !== undefined) expect(seen.startsWith('//'), `${evil} reached ${seen}`).toBe(false);
    }
  });

  it('a fragment, backslash or encoded slash is refused: the filter failed, nothing is sent', async () => {
    for (const evil of ['/x#frag', '/x?q=1#frag', '/a\\..\\admin', '/a%2F..%2Fadmin', '/a%00b', '/a%zz']) {
      const { status, seen } = await rewrite(evil, '/api');
      expect(status, evil).toBe(500);
      expect(seen, evil).toBeUndefined();
    }
  });

  it('a normal rewrite keeps its query and lands under the base path', async () => {
    const { status, seen } = await rewrite('/v1/messages?beta=true&q=%2e%2e/', '/api');
    expect(status).toBe(200);
    expect(seen).toBe('/api/v1/messages?beta=true&q=%2e%2e/');
  });
});
