/**
 * `praxis-wasm try plugin.wasm`: runs one filter on a sample request (and a sample response)
 * and prints what each hook decided, what it logged and which sub-requests it made. For plugin
 * authors: no gateway, no upstream; sub-requests go out through the real bridge, to the hosts
 * named with --allow-host only.
 */
import { pino } from 'pino';
import { loadComponent } from '../component/loader.ts';
import type { Action, BodyMode, HeaderList, RequestInfo } from '../component/types.ts';
import { Writable } from 'node:stream';
import { FilterHost } from '../pipeline/filter.ts';
import { createRequestContext } from '../pipeline/request-context.ts';
import { SubrequestBridge, startTrace } from '../subrequest/index.ts';

export interface TryOptions {
  config?: string;
  method: string;
  path: string;
  header: string[];
  data?: string;
  status: number;
  responseHeader: string[];
  responseBody?: string;
  allowHost: string[];
  timeoutMs: number;
}

function headerList(raw: string[]): HeaderList {
  return raw.map((h) => {
    const i = h.indexOf(':');
    if (i <= 0) throw new Error(`header "${h}" is not "name: value"`);
    return [h.slice(0, i).trim().toLowerCase(), h.slice(i + 1).trim()] as [string, string];
  });
}

/** An action as JSON-friendly data: bodies shown as text. */
function show(a: Action): unknown {
  const text = (b?: Uint8Array) => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));
  if (a.tag === 'continue') return a.mutations ? { continue: { ...a.mutations, body: text(a.mutations.body) } } : 'continue';
  if (a.tag === 'reject') return { reject: { ...a.rejection, body: text(a.rejection.body) } };
  return a.tag;
}

const wants = (m: BodyMode) => m.tag !== 'none';

export async function tryCommand(file: string, opts: TryOptions): Promise<void> {
  // The same host calls a gateway gives a filter (FilterHost), on a request context of its own;
  // guest log lines are caught here instead of written.
  const logs: Array<{ level: string; msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        const { level, msg } = JSON.parse(line) as { level: string; msg: string };
        logs.push({ level, msg });
      }
      done();
    },
  });
  const logger = pino({ level: 'debug', base: null, timestamp: false, formatters: { level: (label) => ({ level: label }) } }, sink);
  const bridge = new SubrequestBridge({ logger: pino({ level: 'silent' }) });
  const ctx = createRequestContext({ id: 'try-1', route: 'try', timeoutMs: opts.timeoutMs, trace: startTrace(), depth: 0, logger });
  const host = new FilterHost({ name: 'try', subrequests: { plugin: 'try', allowedHosts: opts.allowHost, maxInFlight: 16 } }, ctx, bridge);
  const subrequests = ctx.subrequests;
  try {
    const loaded = await loadComponent(file);
    const instance = await loaded.factory.instantiate();
    const configured = await instance.configure(host, opts.config ?? '{}');
    if (!configured.ok) throw new Error(`configure failed: ${configured.error}`);
    const info: RequestInfo = { requestId: 'try-1', attempt: 1, route: 'try' };
    const headers = headerList(opts.header);
    const steps: Array<{ hook: string; decision: unknown }> = [];
    const run = async (hook: string, call: () => Promise<Action>) => {
      const a = await call();
      steps.push({ hook, decision: show(a) });
      return a;
    };
    const authority = headers.find(([k]) => k === 'host')?.[1] ?? 'localhost';
    // As in the gateway: a header hook the filter did not declare is not called.
    const hooks = configured.value.headerHooks;
    let a: Action = { tag: 'continue' };
    if (hooks.requestHeaders) {
      a = await run('on-request-headers', () => instance.onRequestHeaders(host, info, { method: opts.method, path: opts.path, authority, headers }));
    }
    if (a.tag !== 'reject' && wants(configured.value.requestBody)) {
      a = await run('on-request-body', () => instance.onRequestBody(host, info, Buffer.from(opts.data ?? ''), true));
    }
    if (a.tag !== 'reject') {
      if (hooks.responseHeaders) {
        a = await run('on-response-headers', () => instance.onResponseHeaders(host, info, { status: opts.status, headers: headerList(opts.responseHeader) }));
      }
      if (a.tag !== 'reject' && wants(configured.value.responseBody)) {
        await run('on-response-body', () => instance.onResponseBody(host, info, Buffer.from(opts.responseBody ?? ''), true));
      }
    }
    console.log(JSON.stringify({ binding: loaded.factory.binding, filter: configured.value, steps, logs, subrequests }, null, 2));
  } catch (err) {
    console.error(`${file}: ${(err as Error).message}`);
    if (logs.length) console.error(logs.map((l) => `  guest ${l.level}: ${l.msg}`).join('\n'));
    process.exitCode = 1;
  } finally {
    await bridge.close();
  }
}
