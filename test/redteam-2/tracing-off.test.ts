/**
 * With tracing off the gateway passes a valid client trace context on untouched (it takes no part
 * in the trace), but a `traceparent` it cannot parse is dropped with its `tracestate`, not
 * forwarded raw: the upstream never gets 8 KiB of a client's junk under a W3C header name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoUpstream, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';

let upstream: TestServer;
let gw: TestGateway;
beforeAll(async () => {
  upstream = await startEchoUpstream();
  gw = await startTestGateway({ upstreams: { echo: { endpoints: [upstream.url] } }, routes: [{ name: 'r', upstream: 'echo' }] });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

async function seenFor(headers: Record<string, string>): Promise<Record<string, unknown>> {
  const r = await fetch(`${gw.url}/x`, { headers });
  await r.text();
  expect(r.status).toBe(200);
  return upstream.seen.at(-1)!.headers;
}

describe('trace context with tracing off', () => {
  it('a valid traceparent and its tracestate pass on as they came', async () => {
    const seen = await seenFor({ traceparent: `00-${T}-${S}-01`, tracestate: 'v=1' });
    expect(seen.traceparent).toBe(`00-${T}-${S}-01`);
    expect(seen.tracestate).toBe('v=1');
  });

  it('an invalid one is dropped with its tracestate, never forwarded raw', async () => {
    for (const bad of [`00-${T}-${S}-01${'x'.repeat(8192)}`, `ff-${T}-${S}-01`, `00-${'0'.repeat(32)}-${S}-01`, 'garbage']) {
      const seen = await seenFor({ traceparent: bad, tracestate: 'v=1' });
      expect(seen.traceparent, bad.slice(0, 40)).toBeUndefined();
      expect(seen.tracestate).toBeUndefined();
    }
  });
});
