/**
 * Runs one filter component on a request and its response, as the gateway would call its hooks,
 * without a gateway or an upstream: the gateway's own loader, FilterHost (identity, context store,
 * guest log bounds) and sub-request bridge, with mocks in front of the bridge. `praxis-wasm try`
 * is this harness with a printer.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadComponent, type LoadOptions } from '../component/loader.ts';
import type { FilterInfo, FilterInstance, RequestInfo } from '../component/types.ts';
import { FilterHost } from '../pipeline/filter.ts';
import { createRequestContext } from '../pipeline/request-context.ts';
import { startTrace } from '../subrequest/index.ts';
import { MockedBridge, type SubrequestMade } from './mocked-bridge.ts';
import { parseMocks, type MockRule } from './mocks.ts';
import { runHooks, type ExchangeInput, type ExchangeResult, type LogLine } from './hooks.ts';
import { type KeyValueOptions, type KeyValueView, TestKeyValue } from './keyvalue.ts';
import { type ClockOptions, TestClock, type TestClockControl } from './test-clock.ts';

export interface FilterTestOptions {
  /** The plugin's config: JSON text, or a value to serialise (default `{}`). */
  config?: string | Record<string, unknown>;
  /** Sub-request answers, first match wins. */
  mocks?: MockRule[];
  /** Hosts unmocked sub-requests may really reach (the allow-list syntax of the gateway; default none). */
  allowHosts?: string[];
  /** Deadline of one exchange, sub-requests included, in ms (default 10,000). */
  timeoutMs?: number;
  /** Loader options (memory ceiling, CPU budget, binding), as a gateway's plugin entry sets them. */
  load?: LoadOptions;
  /** The key-value store the hooks see (the gateway's memory backend): seed, grants, bounds, or down. */
  keyvalue?: KeyValueOptions;
  /** The clocks the `clock` import reads: frozen at `nowMs` (moved by `TestFilter.clock`), or the process's by default. */
  clock?: ClockOptions;
}

/** One run's outcome, and the key-value store as the run left it. */
export interface FilterRunResult extends ExchangeResult {
  keyvalue: KeyValueView;
}

export interface TestFilter {
  /** Which binding runs it ('fast' for what the SDKs build). */
  readonly binding: 'fast' | 'jco';
  /** What configure returned for the options' config. */
  readonly info: FilterInfo;
  /** Runs the hooks on one request/response on a fresh instance (a new request context each time). */
  run(input?: ExchangeInput & { mocks?: MockRule[] }): Promise<FilterRunResult>;
  /** The key-value store now (runs share one store, seeded before the first). */
  keyvalue(): Promise<KeyValueView>;
  /** The clocks the hooks read, shared by every run: `advance(ms)` between runs moves time. */
  readonly clock: TestClockControl;
  /** Releases the bridge's connections; call once when done. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export class ConfigureError extends Error {
  override name = 'ConfigureError';
}

/** A pino logger whose lines land in `lines` (level label and message) instead of a stream. */
function capturingLogger(lines: LogLine[]) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        const { level, msg } = JSON.parse(line) as LogLine;
        lines.push({ level, msg });
      }
      done();
    },
  });
  return pino({ level: 'debug', base: null, timestamp: false, formatters: { level: (label) => ({ level: label }) } }, sink);
}

/** Loads `source` (a .wasm path or its bytes) and configures it once, so a bad config fails here. */
export async function loadFilter(source: string | Uint8Array, opts: FilterTestOptions = {}): Promise<TestFilter> {
  const config = typeof opts.config === 'string' ? opts.config : JSON.stringify(opts.config ?? {});
  parseMocks(opts.mocks ?? []); // a bad rule fails here, before anything loads
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const allowHosts = opts.allowHosts ?? [];
  const clock = new TestClock(opts.clock); // a bad clock option fails here, before anything loads
  const loaded = await loadComponent(source, opts.load);
  const kv = new TestKeyValue('test', opts.keyvalue);
  await kv.ready().catch(async (err: unknown) => {
    await kv.close();
    throw err;
  });
  const open = new Set<MockedBridge>();
  let runs = 0;

  const start = async (logs: LogLine[], bridge: MockedBridge) => {
    const id = `test-${++runs}`;
    const logger = capturingLogger(logs);
    const ctx = createRequestContext({ id, route: 'test', timeoutMs, trace: startTrace(), depth: 0, logger });
    const host = new FilterHost({ name: 'test', subrequests: { plugin: 'test', allowedHosts: allowHosts, maxInFlight: 16 }, keyvalue: kv.plugin, clock }, ctx, bridge);
    const instance: FilterInstance = await loaded.factory.instantiate();
    const configured = await instance.configure(host, config);
    if (!configured.ok) throw new ConfigureError(`configure failed: ${configured.error}`);
    const info: RequestInfo = { requestId: id, attempt: 1, route: 'test' };
    return { host, instance, filter: configured.value, info };
  };

  const withBridge = async <T>(extra: MockRule[] | undefined, fn: (bridge: MockedBridge) => Promise<T>): Promise<T> => {
    // Rules are per run: `times` counts start afresh, and per-run rules come first.
    const bridge = new MockedBridge(parseMocks(opts.mocks ?? []), pino({ level: 'silent' }));
    if (extra) bridge.withFirst(parseMocks(extra, 'run.mocks'));
    open.add(bridge);
    try {
      return await fn(bridge);
    } finally {
      open.delete(bridge);
      await bridge.close();
    }
  };

  const probeLogs: LogLine[] = [];
  const info = await withBridge(undefined, async (bridge) => (await start(probeLogs, bridge)).filter).catch(async (err: unknown) => {
    await kv.close();
    if (err instanceof ConfigureError && probeLogs.length) err.message += `\n${probeLogs.map((l) => `  guest ${l.level}: ${l.msg}`).join('\n')}`;
    throw err;
  });

  const close = async () => {
    await Promise.all([...open].map((b) => b.close()));
    await kv.close();
  };
  return {
    binding: loaded.factory.binding,
    info,
    run: (input = {}) =>
      withBridge(input.mocks, async (bridge) => {
        const logs: LogLine[] = [];
        const made: SubrequestMade[] = bridge.made;
        const s = await start(logs, bridge);
        const result = await runHooks(s.instance, s.host, s.info, s.filter, input, logs, made);
        return { ...result, keyvalue: await kv.view() };
      }),
    keyvalue: () => kv.view(),
    clock,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Loads, runs one exchange, closes: for a single check. */
export async function runFilter(source: string | Uint8Array, input: ExchangeInput & FilterTestOptions = {}): Promise<FilterRunResult> {
  const filter = await loadFilter(source, input);
  try {
    return await filter.run({ ...input, mocks: undefined }); // already given to loadFilter
  } finally {
    await filter.close();
  }
}


