/** `:path` in a request hook's set-headers rewrites the path the upstream gets (an API translation needs it). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneRoute, testkit } from '../gateway/helpers.ts';
import { startEchoUpstream, startTestGateway, type TestServer } from '../helpers/servers.ts';
import { EnvoyStream, mutationOf, requestHeaders, startTestExtProc } from '../extproc/client.ts';

let upstream: TestServer;
beforeAll(async () => { upstream = await startEchoUpstream(); });
afterAll(async () => { await upstream?.close(); });

async function through(config: Record<string, unknown>): Promise<{ status: number; body: string }> {
  const gw = await startTestGateway(oneRoute({ tk: testkit(config) }, ['tk'], { main: upstream.url }));
  try {
    const res = await fetch(`http://127.0.0.1:${gw.port}/v1/chat/completions?x=1`, { method: 'POST', body: '{}' });
    return { status: res.status, body: await res.text() };
  } finally {
    await gw.close();
  }
}

describe(':path request mutation', () => {
  it('sends the upstream the path a request filter set, and no such header', async () => {
    const { status, body } = await through({ setRequestHeader: [':path', '/v1/messages?beta=true'] });
    expect(status).toBe(200);
    const echoed = JSON.parse(body) as { path: string; headers: Record<string, string> };
    expect(echoed.path).toBe('/v1/messages?beta=true');
    expect(Object.keys(echoed.headers).some((k) => k.includes('path'))).toBe(false);
  });

  it('refuses a path that is not origin-form (the filter failed, nothing is sent)', async () => {
    upstream.seen.length = 0;
    for (const bad of ['v1/messages', '/a b', 'http://elsewhere/x']) {
      const { status } = await through({ setRequestHeader: [':path', bad] });
      expect(status).toBe(500);
    }
    expect(upstream.seen).toHaveLength(0);
  });

  it('is not a response header', async () => {
    const { status } = await through({ setResponseHeader: [':path', '/x'] });
    expect(status).toBe(500);
  });
});

describe(':path behind Envoy (ext_proc)', () => {
  it("goes out as the :path header mutation, never as a header of that name", async () => {
    const ep = await startTestExtProc(oneRoute({ tk: testkit({ setRequestHeader: [':path', '/v1/messages'] }) }, ['tk'], { main: 'http://127.0.0.1:9' }));
    try {
      const s = new EnvoyStream(ep.client);
      const r = await s.send(requestHeaders('/v1/chat/completions'));
      const m = mutationOf(r.requestHeaders?.response?.headerMutation);
      expect(m.set[':path']).toEqual(['/v1/messages']);
      s.end();
    } finally {
      await ep.close();
    }
  });
});
