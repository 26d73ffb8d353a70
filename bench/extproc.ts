/**
 * The ext_proc face's per-request cost against the same chain in the standalone gateway. One
 * request through ext_proc is one gRPC stream with one message per phase (request headers, the
 * request body in BUFFERED mode, response headers), as Envoy sends them; through the gateway it is
 * one POST proxied to a local upstream. Same config, same plugins, same process for both (client
 * included): the numbers compare the two faces, not absolute capacity. `BENCH_ONLY=extproc`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { Pool } from 'undici';
import type { GatewayConfig } from '../runtime/config/types.ts';
import type { ProcessingRequest, ProcessingResponse } from '../runtime/extproc/messages.ts';
import { externalProcessorService } from '../runtime/extproc/protos.ts';
import { startExtProc } from '../runtime/extproc/server.ts';
import { startGateway } from '../runtime/gateway/gateway.ts';
import { type Scenario, summarize } from './stats.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BODY = JSON.stringify({ model: 'small-model', messages: [{ role: 'user', content: 'hello there' }] });

type Duplex = grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse>;

function headerMap(pairs: Array<[string, string]>): ProcessingRequest['requestHeaders'] {
  return { headers: { headers: pairs.map(([key, v]) => ({ key, rawValue: Buffer.from(v) })) }, endOfStream: false };
}

/** One request as Envoy drives it: each message waits for its answer. */
function oneStream(client: grpc.Client): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = (client as unknown as { process: () => Duplex }).process();
    const script: ProcessingRequest[] = [
      { requestHeaders: headerMap([[':method', 'POST'], [':path', '/v1/chat'], [':authority', 'bench'], ['content-type', 'application/json']]) },
      { requestBody: { body: Buffer.from(BODY), endOfStream: true } },
      { responseHeaders: { ...headerMap([[':status', '200'], ['content-type', 'application/json']]), endOfStream: true } },
    ];
    let i = 0;
    call.on('data', () => {
      if (++i < script.length) call.write(script[i]!);
      else call.end();
    });
    call.on('end', () => (i >= script.length ? resolve() : reject(new Error(`stream ended after ${i} answers`))));
    call.on('error', reject);
    call.write(script[0]!);
  });
}

/** `concurrency` loops of `op` for `durationS`; per-op latency and throughput. */
async function closedLoop(op: () => Promise<void>, durationS: number, concurrency: number): Promise<Scenario> {
  const us: number[] = [];
  const end = performance.now() + durationS * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await op();
      us.push((performance.now() - t) * 1000);
    }
  }));
  return summarize(us, Math.round(us.length / ((performance.now() - started) / 1000)));
}

export async function benchExtProc(opts: { durationS: number; concurrency: number }): Promise<Record<string, Scenario>> {
  const upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const plugins: GatewayConfig['plugins'] = {
    'request-headers': { path: `${ROOT}plugins/request-headers/dist/request-headers.wasm`, config: { set: { 'x-gateway': 'praxis-wasm' } } },
    'header-router': { path: `${ROOT}plugins/header-router/dist/header-router.wasm`, config: { header: 'x-model', bodyField: 'model', routes: { 'small-model': 'main' }, default: 'main' } },
    'deny-list': { path: `${ROOT}plugins/deny-list/dist/deny-list.wasm`, config: { patterns: ['ignore previous instructions'] } },
  };
  const config = (filters: string[]): GatewayConfig => ({
    plugins, upstreams: { main: { endpoints: [upstreamUrl] } }, routes: [{ name: 'chat', upstream: 'main', filters }],
  });
  const logger = pino({ level: 'silent' });
  const chain = ['request-headers', 'header-router', 'deny-list'];
  const ep = await startExtProc(config(chain), { logger, port: 0 });
  const gw = await startGateway(config(chain), { logger, port: 0 });
  const bare = await startGateway(config([]), { logger, port: 0 });
  // The same three messages to a filterless route: what the gRPC round trips cost by themselves.
  const epBare = await startExtProc(config([]), { logger, port: 0 });
  const Client = externalProcessorService();
  const client = new Client(ep.address, grpc.credentials.createInsecure());
  const bareClient = new Client(epBare.address, grpc.credentials.createInsecure());
  const pools = [new Pool(gw.url, { connections: opts.concurrency }), new Pool(bare.url, { connections: opts.concurrency })];
  const post = (pool: Pool) => async () => {
    const res = await pool.request({ method: 'POST', path: '/v1/chat', headers: { 'content-type': 'application/json' }, body: BODY });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`gateway answered ${res.statusCode}`);
  };
  const out: Record<string, Scenario> = {};
  try {
    // Warm every path once, then interleave so drift hits all three alike.
    await closedLoop(() => oneStream(client), 0.5, opts.concurrency);
    await closedLoop(post(pools[0]!), 0.5, opts.concurrency);
    out['extproc/3-filters (3 messages)'] = await closedLoop(() => oneStream(client), opts.durationS, opts.concurrency);
    out['extproc/gateway-3-filters'] = await closedLoop(post(pools[0]!), opts.durationS, opts.concurrency);
    out['extproc/gateway-no-filter'] = await closedLoop(post(pools[1]!), opts.durationS, opts.concurrency);
    out['extproc/no-filter (3 messages)'] = await closedLoop(() => oneStream(bareClient), opts.durationS, opts.concurrency);
  } finally {
    client.close();
    bareClient.close();
    await Promise.all([...pools.map((p) => p.close()), ep.close(), epBare.close(), gw.close(), bare.close()]);
    upstream.closeAllConnections();
    upstream.close();
  }
  return out;
}
