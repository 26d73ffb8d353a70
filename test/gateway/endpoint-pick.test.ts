/**
 * Endpoint picking by the endpoint-picker convention: a request filter sets
 * `x-gateway-destination-endpoint`, and the gateway honours it only within the upstream.
 */
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../runtime/config/load.ts';
import type { GatewayConfig, UpstreamConfig } from '../../runtime/config/types.ts';
import { startGateway } from '../../runtime/gateway/gateway.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { startEchoUpstream, startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { jsonError, testkit } from './helpers.ts';

const HEADER = 'x-gateway-destination-endpoint';
const track = useCleanup();

async function echo(): Promise<TestServer> {
  return track(await startEchoUpstream());
}

/**
 * A route over `upstream` whose filter `picker` sets the destination header to `list` (none when
 * undefined), followed by a filter `after` that changes nothing.
 */
async function gateway(upstream: UpstreamConfig, list: string | undefined, retries = 0): Promise<TestGateway> {
  const cfg: GatewayConfig = {
    plugins: {
      picker: testkit({ name: 'picker', ...(list !== undefined ? { setRequestHeader: [HEADER, list] } : {}) }),
      after: testkit({ name: 'after' }),
    },
    upstreams: { u: upstream },
    routes: [{ name: 'r', upstream: 'u', filters: ['picker', 'after'], retries }],
  };
  return track(await startTestGateway(cfg));
}

async function send(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const r = await request(url, { headers });
  return { status: r.statusCode, text: await r.body.text() };
}

const hostPort = (s: TestServer): string => `127.0.0.1:${s.port}`;

describe('a filter picks the endpoint', () => {
  it('every request goes to the picked endpoint of the upstream (not round-robin), and the header is not forwarded', async () => {
    const a = await echo();
    const b = await echo();
    const gw = await gateway({ endpoints: [a.url, b.url] }, hostPort(b));
    for (let i = 0; i < 4; i++) expect((await send(`${gw.url}/p${i}`)).status).toBe(200);
    expect(a.seen).toHaveLength(0);
    expect(b.seen.map((s) => s.url)).toEqual(['/p0', '/p1', '/p2', '/p3']);
    expect(b.seen.every((s) => s.headers[HEADER] === undefined)).toBe(true);
    const line = gw.logs.find((l) => l.log === 'access' && l.path === '/p0');
    expect(line?.endpoint).toBe(b.url);
  });

  it('a retriable failure falls back to the next endpoint of the list, on the route retries', async () => {
    const busy = track(await startServer((_req, res) => { res.writeHead(503).end('busy'); }));
    const b = await echo();
    const gw = await gateway({ endpoints: [b.url, busy.url] }, `${hostPort(busy)}, ${hostPort(b)}`, 1);
    const r = await send(`${gw.url}/f`);
    expect(r.status).toBe(200);
    expect(busy.seen).toHaveLength(1);
    expect(b.seen.map((s) => s.headers['x-processor-attempt'])).toEqual(['2']);
  });

  it('an endpoint outside the upstream is refused with a 502 naming the filter that picked it; the address is never dialled', async () => {
    const a = await echo();
    const outsider = await echo();
    const gw = await gateway({ endpoints: [a.url] }, hostPort(outsider));
    const r = await send(`${gw.url}/x`);
    expect(r.status).toBe(502);
    const err = jsonError(r.text);
    expect(err).toMatchObject({ type: 'endpoint_refused', plugin: 'picker', hook: 'on-request-headers' });
    expect(r.text).not.toContain(String(outsider.port));
    expect(outsider.seen).toHaveLength(0);
    expect(a.seen).toHaveLength(0);
    const line = gw.logs.find((l) => l.log === 'access' && l.path === '/x');
    expect(String(line?.detail)).toContain(hostPort(outsider));
  });

  it('entries outside the upstream are skipped for one that belongs; a name or a mangled entry is never resolved', async () => {
    const a = await echo();
    const b = await echo();
    const outsider = await echo();
    const gw = await gateway({ endpoints: [a.url, b.url] }, `${hostPort(outsider)},localhost:${b.port},user@${hostPort(outsider)},${hostPort(b)}`);
    expect((await send(`${gw.url}/s`)).status).toBe(200);
    expect(b.seen).toHaveLength(1);
    expect(outsider.seen).toHaveLength(0);
    expect(a.seen).toHaveLength(0);
  });

  it('pickableEndpoints admits addresses beyond the endpoints, by address and port or CIDR block', async () => {
    const a = await echo();
    const extra = await echo();
    const byPort = await gateway({ endpoints: [a.url], pickableEndpoints: [hostPort(extra)] }, hostPort(extra));
    expect((await send(`${byPort.url}/one`)).status).toBe(200);
    const byBlock = await gateway({ endpoints: [a.url], pickableEndpoints: ['127.0.0.0/8'] }, hostPort(extra));
    expect((await send(`${byBlock.url}/two`)).status).toBe(200);
    expect(extra.seen.map((s) => s.url)).toEqual(['/one', '/two']);
    // The block on another port admits nothing here.
    const otherPort = await gateway({ endpoints: [a.url], pickableEndpoints: [`127.0.0.0/8:${extra.port === 1 ? 2 : 1}`] }, hostPort(extra));
    expect(jsonError((await send(`${otherPort.url}/three`)).text).type).toBe('endpoint_refused');
    expect(extra.seen).toHaveLength(2);
    expect(a.seen).toHaveLength(0);
  });

  it('a pickableEndpoints entry that is not an address or block stops the start, naming the key', async () => {
    const a = await echo();
    // The schema refuses names (an allow-list of names would let DNS decide) and shapes it does not know.
    const named = { upstreams: { u: { endpoints: [a.url], pickableEndpoints: ['10.0.0.0/8', 'example.com:80'] } }, routes: [{ name: 'r', upstream: 'u' }] };
    expect(() => validateConfig(named)).toThrow(/upstreams\.u\.pickableEndpoints\[1\]/);
    for (const bad of ['example.com:80', '10.0.0.0/40', '300.1.1.1']) {
      const cfg: GatewayConfig = { upstreams: { u: { endpoints: [a.url], pickableEndpoints: [bad] } }, routes: [{ name: 'r', upstream: 'u' }] };
      await expect(startGateway({ ...cfg, listen: { host: '127.0.0.1', port: 0 } }), bad).rejects.toThrow(/upstreams\.u\.pickableEndpoints/);
    }
  });
});

describe('a client cannot steer routing', () => {
  it('the client\'s own destination header is dropped before the filters run and never forwarded', async () => {
    const a = await echo();
    const b = await echo();
    const outsider = await echo();
    const gw = await gateway({ endpoints: [a.url, b.url] }, undefined);
    // Round-robin spreads the requests over both endpoints whatever the client names.
    for (let i = 0; i < 4; i++) expect((await send(`${gw.url}/c${i}`, { [HEADER]: hostPort(b) })).status).toBe(200);
    expect(a.seen).toHaveLength(2);
    expect(b.seen).toHaveLength(2);
    // An outside address from the client is neither dialled nor refused: it is not the client's to set.
    expect((await send(`${gw.url}/o`, { [HEADER]: hostPort(outsider) })).status).toBe(200);
    expect(outsider.seen).toHaveLength(0);
    expect([...a.seen, ...b.seen].every((s) => s.headers[HEADER] === undefined)).toBe(true);
  });
});
