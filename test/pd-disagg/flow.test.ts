/**
 * pd-disagg end to end: a real gateway, loopback prefill servers and an echo decode upstream.
 * Covers the happy path, failover between prefill endpoints within the deadline, all endpoints
 * down, and a retried decode that must not prefill twice (the context checkpoint).
 */
import { statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { type LogLine, pluginPath, startEchoUpstream, startServer, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';

type Mode = 'ok' | '500' | 'hang' | 'no-params';
interface Prefill { server: TestServer; mode: Mode; calls: number }
interface Echoed { method: string; path: string; headers: Record<string, string | undefined>; body: string }
interface SubLog { plugin: string; method: string; url: string; status?: number; outcome: string }

const TIMEOUT_MS = 300;
console.log(`pd-disagg component size (bytes): ${statSync(pluginPath('pd-disagg')).size}`);

/** FNV-1a, as plugins/pd-disagg picks its first endpoint: hash(request id) % endpoints. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}
/** A request id whose first pick among `n` endpoints is `index`. */
function idStartingAt(index: number, n = 2, prefix = 'req'): string {
  for (let i = 0; ; i++) if (fnv1a(`${prefix}-${i}`) % n === index) return `${prefix}-${i}`;
}

async function startPrefill(name: string): Promise<Prefill> {
  const p: Prefill = { server: undefined as unknown as TestServer, mode: 'ok', calls: 0 };
  p.server = await startServer((req: IncomingMessage, res: ServerResponse) => {
    p.calls++;
    if (req.method !== 'POST' || req.url !== '/v1/completions') {
      res.writeHead(404).end();
      return;
    }
    switch (p.mode) {
      case 'hang': return; // never answers; the connection is closed by close()
      case '500':
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}');
        return;
      case 'no-params':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices":[]}');
        return;
      case 'ok':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({
          id: 'cmpl-1', choices: [{ text: 'x' }],
          kv_transfer_params: { do_remote_decode: true, remote_engine_id: name, remote_block_ids: [1, 2, 3], remote_host: '10.0.0.1' },
        }));
    }
  });
  return p;
}

let p1: Prefill;
let p2: Prefill;
let decode: TestServer;
let other: TestServer;
/** How the decode upstream answers its next calls (default 200 echo). */
let decodeScript: number[] = [];
let gw: TestGateway | undefined;

beforeAll(async () => {
  p1 = await startPrefill('p1');
  p2 = await startPrefill('p2');
  other = await startEchoUpstream();
  decode = await startServer((req, res, body) => {
    const status = decodeScript.shift() ?? 200;
    if (status !== 200) {
      res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":"decode busy"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'decode' });
    res.end(JSON.stringify({ method: req.method, path: req.url, headers: req.headers, body }));
  });
});
afterAll(async () => {
  await Promise.all([p1.server.close(), p2.server.close(), decode.close(), other.close()]);
});
beforeEach(() => {
  for (const p of [p1, p2]) { p.mode = 'ok'; p.calls = 0; p.server.seen.length = 0; }
  decode.seen.length = 0;
  other.seen.length = 0;
  decodeScript = [];
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

function config(prefill: string[], route: Partial<GatewayConfig['routes'][number]> = {}): GatewayConfig {
  return {
    plugins: {
      pd: {
        path: pluginPath('pd-disagg'),
        config: { prefill, decodeUpstream: 'decode', timeoutMs: TIMEOUT_MS, maxBytes: 65536 },
        allowedHosts: ['127.0.0.1:*'],
      },
    },
    upstreams: { other: { endpoints: [other.url] }, decode: { endpoints: [decode.url] } },
    routes: [{ name: 'llm', upstream: 'other', filters: ['pd'], retries: 1, timeoutMs: 5000, ...route }],
  };
}

async function post(body: string, id: string, path = '/v1/chat/completions'): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  const r = await request(`${gw!.url}${path}`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', 'x-request-id': id },
  });
  return { status: r.statusCode, text: await r.body.text(), headers: r.headers };
}

function accessLine(logs: LogLine[], id: string): LogLine & { subrequests: SubLog[]; attempt: number; upstream?: string } {
  const line = logs.find((l) => l.msg === 'access' && l.id === id);
  if (!line) throw new Error(`no access line for ${id}`);
  return line as LogLine & { subrequests: SubLog[]; attempt: number; upstream?: string };
}

const CHAT = { model: 'llama-3-70b', messages: [{ role: 'user', content: 'Explain KV caches, ünïcödé included.' }], max_tokens: 256, stream: false };

describe('pd-disagg flow', () => {
  it('happy path: 1-token prefill carrying the request id, then decode with the KV params', async () => {
    gw = await startTestGateway(config([p1.server.url, p2.server.url]));
    const id = idStartingAt(0);
    const body = JSON.stringify(CHAT);
    const r = await post(body, id);
    expect(r.status).toBe(200);
    expect(r.headers['x-upstream']).toBe('decode');

    // exactly one prefill call, on the endpoint the request id hashes to
    expect(p1.calls + p2.calls).toBe(1);
    expect(p1.calls).toBe(1);
    const pre = p1.server.seen[0]!;
    expect(pre.method).toBe('POST');
    expect(pre.url).toBe('/v1/completions');
    expect(pre.headers['x-prefill-request-id']).toBe(id);
    expect(pre.headers['x-request-id']).toBe(id);
    expect(pre.headers['x-processor-attempt']).toBe('1');
    expect(pre.headers['content-type']).toBe('application/json');
    const preBody = JSON.parse(pre.body) as Record<string, unknown>;
    expect(preBody).toEqual({ ...CHAT, max_tokens: 1 });

    // the decode upstream sees the original body and the KV params (minified JSON)
    const echoed = JSON.parse(r.text) as Echoed;
    expect(decode.seen).toHaveLength(1);
    expect(other.seen).toHaveLength(0);
    expect(echoed.body).toBe(body);
    expect(echoed.path).toBe('/v1/chat/completions');
    expect(echoed.headers['x-request-id']).toBe(id);
    expect(echoed.headers['x-prefill-endpoint']).toBe(p1.server.url);
    expect(JSON.parse(echoed.headers['x-kv-transfer-params']!)).toEqual({ do_remote_decode: true, remote_engine_id: 'p1', remote_block_ids: [1, 2, 3], remote_host: '10.0.0.1' });
    expect(echoed.headers['x-kv-transfer-params']).not.toMatch(/\s/);

    const line = accessLine(gw.logs, id);
    expect(line.status).toBe(200);
    expect(line.upstream).toBe('decode');
    expect(line.subrequests).toMatchObject([{ plugin: 'pd', method: 'POST', url: `${p1.server.url}/v1/completions`, status: 200, outcome: 'ok' }]);
  });

  it('inserts max_tokens when the body has none (completions with a prompt)', async () => {
    gw = await startTestGateway(config([p1.server.url, p2.server.url]));
    const body = JSON.stringify({ model: 'm', prompt: 'Once upon a time' });
    const r = await post(body, idStartingAt(1), '/v1/completions');
    expect(r.status).toBe(200);
    expect(p2.calls).toBe(1);
    expect(JSON.parse(p2.server.seen[0]!.body)).toEqual({ model: 'm', prompt: 'Once upon a time', max_tokens: 1 });
    expect((JSON.parse(r.text) as Echoed).body).toBe(body);
  });

  it('other requests pass through untouched: GET, and a POST that is not a completion', async () => {
    gw = await startTestGateway(config([p1.server.url, p2.server.url]));
    const g = await request(`${gw.url}/v1/models`);
    await g.body.text();
    expect(g.statusCode).toBe(200);
    const r = await post('{"input":"embed me"}', 'plain-1', '/v1/embeddings');
    expect(r.status).toBe(200);
    expect(p1.calls + p2.calls).toBe(0);
    expect(decode.seen).toHaveLength(0);
    expect(other.seen).toHaveLength(2);
    expect(other.seen[1]!.headers['x-kv-transfer-params']).toBeUndefined();
  });

  for (const failure of ['500', 'hang', 'no-params'] as const) {
    it(`a failing prefill endpoint (${failure}) is skipped for the next one within the deadline`, async () => {
      gw = await startTestGateway(config([p1.server.url, p2.server.url]));
      p1.mode = failure;
      const id = idStartingAt(0, 2, `fail-${failure}`);
      const started = performance.now();
      const r = await post(JSON.stringify(CHAT), id);
      const elapsed = performance.now() - started;
      expect(r.status).toBe(200);
      expect(p1.calls).toBe(1);
      expect(p2.calls).toBe(1);
      const echoed = JSON.parse(r.text) as Echoed;
      expect(echoed.headers['x-prefill-endpoint']).toBe(p2.server.url);
      expect(JSON.parse(echoed.headers['x-kv-transfer-params']!)).toMatchObject({ remote_engine_id: 'p2' });
      if (failure === 'hang') {
        expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
        expect(elapsed).toBeLessThan(TIMEOUT_MS + 2000);
      }
      const subs = accessLine(gw.logs, id).subrequests;
      expect(subs).toHaveLength(2);
      expect(subs[0]).toMatchObject({ url: `${p1.server.url}/v1/completions`, outcome: failure === 'hang' ? 'timeout' : 'ok' });
      if (failure === '500') expect(subs[0]!.status).toBe(500);
      expect(subs[1]).toMatchObject({ url: `${p2.server.url}/v1/completions`, status: 200, outcome: 'ok' });
    });
  }

  it('a prefill timeout is clamped to the route deadline', async () => {
    gw = await startTestGateway(config([p1.server.url, p2.server.url], { timeoutMs: 150 }));
    p1.mode = 'hang';
    p2.mode = 'hang';
    const started = performance.now();
    const r = await post(JSON.stringify(CHAT), idStartingAt(0, 2, 'clamp'));
    const elapsed = performance.now() - started;
    expect([503, 504]).toContain(r.status);
    expect(elapsed).toBeLessThan(TIMEOUT_MS * 2); // the 300 ms prefill timeouts never ran out in full
    expect(decode.seen).toHaveLength(0);
  });

  it('all prefill endpoints down: 503 prefill_unavailable, decode never called', async () => {
    const closed = await startServer(() => undefined);
    const deadUrl = closed.url;
    await closed.close(); // a port nobody listens on: connect refused
    gw = await startTestGateway(config([p1.server.url, deadUrl]));
    p1.mode = '500';
    const id = 'all-down';
    const r = await post(JSON.stringify(CHAT), id);
    expect(r.status).toBe(503);
    expect(String(r.headers['content-type'])).toMatch(/application\/json/);
    expect(JSON.parse(r.text)).toEqual({ error: { type: 'prefill_unavailable' } });
    expect(p1.calls).toBe(1);
    expect(decode.seen).toHaveLength(0);
    expect(other.seen).toHaveLength(0);
    const subs = accessLine(gw.logs, id).subrequests;
    expect(subs.map((s) => s.outcome).sort()).toEqual(['connect', 'ok'].sort());
  });

  it('a retried decode reuses the checkpointed KV params: two decode calls, one prefill', async () => {
    gw = await startTestGateway(config([p1.server.url, p2.server.url]));
    decodeScript = [503];
    const id = idStartingAt(1, 2, 'retry');
    const body = JSON.stringify(CHAT);
    const r = await post(body, id);
    expect(r.status).toBe(200);
    expect(decode.seen).toHaveLength(2);
    expect(p1.calls + p2.calls).toBe(1); // no double prefill
    expect(p2.server.seen[0]!.headers['x-processor-attempt']).toBe('1');

    const [first, second] = decode.seen;
    for (const seen of [first!, second!]) {
      expect(seen.body).toBe(body); // the body is replayed intact
      expect(seen.headers['x-request-id']).toBe(id);
      expect(seen.headers['x-prefill-endpoint']).toBe(p2.server.url);
      expect(JSON.parse(String(seen.headers['x-kv-transfer-params']))).toMatchObject({ remote_engine_id: 'p2' });
    }
    // What the gateway sends to the upstream about the attempt (today: nothing; sub-requests carry it).
    console.log(`decode upstream x-processor-attempt: ${String(first!.headers['x-processor-attempt'])}, ${String(second!.headers['x-processor-attempt'])}`);

    const line = accessLine(gw.logs, id);
    expect(line.attempt).toBe(2);
    expect(line.status).toBe(200);
    expect(line.subrequests).toHaveLength(1);
  });

  it('a retried decode after two 503s gives up with the upstream answer, still one prefill', async () => {
    gw = await startTestGateway(config([p1.server.url, p2.server.url]));
    decodeScript = [503, 503];
    const r = await post(JSON.stringify(CHAT), 'retry-exhausted');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text)).toEqual({ error: 'decode busy' });
    expect(decode.seen).toHaveLength(2);
    expect(p1.calls + p2.calls).toBe(1);
  });
});
