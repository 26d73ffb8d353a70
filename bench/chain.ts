/**
 * The chain's host cost in process, no sockets: one GET's hooks of the benchmark's wasm chain
 * (header-router, request-headers, deny-list) driven as the gateway drives them (Pipeline and
 * HookInvoker: request headers, the empty request body to the filters that hold it, response
 * headers, the response body where a filter reads it), against the same guest calls made directly
 * on one instance of each filter with a no-op host. CPU time of this process (`process.cpuUsage`)
 * per request, interleaved batches, best and median of the rounds: the difference per guest call
 * is the host's own work per hook, a figure a loaded machine barely moves (the gateway scenarios'
 * CPU per request moves ±30% there).
 */
import { pino } from 'pino';
import type { FilterInstance, RequestHead, RequestInfo, ResponseHead } from '../runtime/component/types.ts';
import { buildChains } from '../runtime/gateway/chains.ts';
import { passChunk } from '../runtime/pipeline/body-flow.ts';
import type { ChainFilter } from '../runtime/pipeline/filter.ts';
import type { Pipeline } from '../runtime/pipeline/pipeline.ts';
import { createRequestContext } from '../runtime/pipeline/request-context.ts';
import { startTrace } from '../runtime/subrequest/index.ts';
import { noopHost } from './hook.ts';
import { wasmConfig } from './servers/filter-chain.ts';
import { type Scenario, round } from './stats.ts';

const EMPTY = Buffer.alloc(0);
const RESPONSE_BODY = Buffer.from(JSON.stringify({ id: 'cmpl-1', object: 'chat.completion', choices: [{ message: { role: 'assistant', content: 'ok' } }] }));
/** A GET as the gateway hands it to the filters (forwarding headers added, hop-by-hop gone). */
const HEAD: RequestHead = {
  method: 'GET', path: '/v1/chat/completions', authority: '127.0.0.1:8080',
  headers: [
    ['host', '127.0.0.1:8080'], ['x-model', 'gpt-4'], ['x-drop', 'yes'], ['x-forwarded-for', '127.0.0.1'],
    ['x-forwarded-proto', 'http'], ['x-forwarded-host', '127.0.0.1:8080'],
  ],
};
const RESPONSE: ResponseHead = { status: 200, headers: [['content-type', 'application/json'], ['content-length', String(RESPONSE_BODY.length)], ['date', new Date().toUTCString()]] };
const noop = (): void => {};

/** One request's hooks through the pipeline, as exchange.ts, attempt.ts and response-phase.ts run them. */
async function throughPipeline(pipeline: Pipeline, logger: pino.Logger, i: number): Promise<void> {
  const ctx = createRequestContext({ id: `req-${i}`, route: 'main', timeoutMs: 30_000, trace: startTrace(), depth: 0, logger });
  const out = await pipeline.requestHeaders(ctx, HEAD);
  const request = pipeline.bodyChain(ctx, out.passed, 'request');
  if (request.wanted) await passChunk(request, EMPTY, true, noop);
  const back = await pipeline.responseHeaders(ctx, out.passed, RESPONSE);
  const response = pipeline.bodyChain(ctx, out.passed, 'response');
  if (response.wanted && !back.rejection) await passChunk(response, RESPONSE_BODY, true, noop);
}

/** The same guest calls, made directly on one lent instance per filter; returns how many. */
async function direct(filters: readonly ChainFilter[], instances: FilterInstance[], i: number): Promise<number> {
  const info: RequestInfo = { requestId: `req-${i}`, attempt: 1, route: 'main' };
  let calls = 0;
  for (let f = 0; f < filters.length; f++) {
    const { info: fi } = filters[f]!;
    if (fi.headerHooks.requestHeaders) { await instances[f]!.onRequestHeaders(noopHost, info, HEAD); calls++; }
    if (fi.requestBody.tag !== 'none') { await instances[f]!.onRequestBody(noopHost, info, EMPTY, true); calls++; }
  }
  for (let f = filters.length - 1; f >= 0; f--) {
    const { info: fi } = filters[f]!;
    if (fi.headerHooks.responseHeaders) { await instances[f]!.onResponseHeaders(noopHost, info, RESPONSE); calls++; }
    if (fi.responseBody.tag !== 'none') { await instances[f]!.onResponseBody(noopHost, info, RESPONSE_BODY, true); calls++; }
  }
  return calls;
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

export interface ChainBenchOptions { rounds: number; batch: number }

export async function benchChain(opts: ChainBenchOptions): Promise<Record<string, Scenario>> {
  const logger = pino({ level: 'silent' });
  const chains = await buildChains(wasmConfig('http://127.0.0.1:9', true), logger, { baseDir: process.cwd(), admin: false, configView: () => wasmConfig('http://127.0.0.1:9', true) });
  try {
    const pipeline = chains.pipelines.get('main')!;
    const filters = pipeline.filters;
    const lend = async (f: ChainFilter): Promise<FilterInstance> => f.pool.lendWarm() ?? f.pool.acquire();
    const instances = await Promise.all(filters.map(lend));
    const calls = await direct(filters, instances, 0);
    const viaPipeline: number[] = [];
    const directly: number[] = [];
    for (let r = 0; r < opts.rounds + 2; r++) {
      // Each instance is lent for the direct batch only, so the pipeline finds them warm in its pool.
      let t0 = cpuUs();
      for (let i = 0; i < opts.batch; i++) await direct(filters, instances, i);
      const d = (cpuUs() - t0) / opts.batch;
      filters.forEach((f, k) => void f.pool.release(instances[k]!, undefined));
      t0 = cpuUs();
      for (let i = 0; i < opts.batch; i++) await throughPipeline(pipeline, logger, i);
      const p = (cpuUs() - t0) / opts.batch;
      for (let k = 0; k < filters.length; k++) instances[k] = await lend(filters[k]!);
      if (r >= 2) { directly.push(d); viaPipeline.push(p); } // the first two rounds warm the JIT
    }
    filters.forEach((f, k) => void f.pool.release(instances[k]!, undefined));
    const best = (xs: number[]): number => Math.min(...xs);
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    const scenario = (xs: number[]): Scenario => ({
      p50_us: round(median(xs), 2), p99_us: round(Math.max(...xs), 2), ops_per_s: Math.round(1e6 / median(xs)),
      cpu_us_per_req_best: round(best(xs), 2), guest_calls_per_req: calls,
    });
    const overheadBest = (best(viaPipeline) - best(directly)) / calls;
    return {
      'chain/direct-guest-calls': scenario(directly),
      'chain/pipeline': { ...scenario(viaPipeline), host_us_per_guest_call: round(overheadBest, 2), host_us_per_guest_call_median: round((median(viaPipeline) - median(directly)) / calls, 2) },
    };
  } finally {
    await chains.close();
  }
}
