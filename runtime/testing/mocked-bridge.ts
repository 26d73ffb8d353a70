/**
 * The gateway's sub-request bridge with mocks in front: a call a rule matches is answered by the
 * rule (after its delay, under the same timeout and deadline rules as a real call); any other
 * call goes to the real bridge, so the plugin's allow-list still decides (default: none, denied).
 * Every call is recorded with what the guest sent and what it got back.
 */
import type { Logger } from 'pino';
import type { HeaderList, Subrequest, SubrequestResult } from '../component/types.ts';
import { DEFAULT_OPTIONS, SubrequestBridge, type ParentRequest, type PluginSubrequestPolicy } from '../subrequest/index.ts';
import { effectiveTimeout } from '../subrequest/timeout.ts';
import { takeMock, type CompiledMock } from './mocks.ts';

/** One sub-request a filter made, as a test sees it. */
export interface SubrequestMade {
  method: string;
  url: string;
  headers: HeaderList;
  /** The request body as text (empty when none). */
  body: string;
  /** The timeout the guest asked for, if any. */
  timeoutMs?: number;
  /** Which rule answered (its index in the list), or undefined when the real bridge did. */
  mock?: number;
  /** 'ok' or the error kind. */
  outcome: 'ok' | Exclude<SubrequestResult, { ok: true }>['error']['tag'];
  status?: number;
  /** The error's reason, for denied/connect/protocol. */
  reason?: string;
  durationMs: number;
}

/** Resolves after `ms`, or early with false when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export class MockedBridge extends SubrequestBridge {
  readonly #mocks: CompiledMock[];
  /** Every call, in the order they were made. */
  readonly made: SubrequestMade[] = [];

  constructor(mocks: CompiledMock[], logger: Logger) {
    super({ logger });
    this.#mocks = mocks;
  }

  /** Rules added in front of the ones given at construction (per-exchange mocks win). */
  withFirst(extra: CompiledMock[]): void {
    this.#mocks.unshift(...extra);
  }

  override async send(parent: ParentRequest, policy: PluginSubrequestPolicy, req: Subrequest): Promise<SubrequestResult> {
    const started = performance.now();
    const mock = takeMock(this.#mocks, req);
    const result = mock ? await this.#answer(parent, policy, req, mock) : await super.send(parent, policy, req);
    const entry: SubrequestMade = {
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: req.body ? Buffer.from(req.body).toString('utf8') : '',
      ...(req.timeoutMs !== undefined ? { timeoutMs: req.timeoutMs } : {}),
      ...(mock ? { mock: mock.index } : {}),
      outcome: result.ok ? 'ok' : result.error.tag,
      ...(result.ok ? { status: result.value.status } : {}),
      ...(!result.ok && 'reason' in result.error ? { reason: result.error.reason } : {}),
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
    };
    this.made.push(entry);
    return result;
  }

  /** The rule's answer, under the timeout the real bridge would give this call. */
  async #answer(parent: ParentRequest, policy: PluginSubrequestPolicy, req: Subrequest, mock: CompiledMock): Promise<SubrequestResult> {
    if (parent.signal.aborted) return { ok: false, error: { tag: 'cancelled' } };
    const timeoutMs = effectiveTimeout({
      guestMs: req.timeoutMs,
      policyMs: policy.timeoutMs,
      defaultMs: DEFAULT_OPTIONS.defaultTimeoutMs,
      parentDeadline: parent.deadline,
      minUsefulMs: DEFAULT_OPTIONS.minUsefulTimeoutMs,
      now: Date.now(),
    });
    if (timeoutMs === undefined) return { ok: false, error: { tag: 'timeout' } };
    if (mock.delayMs > 0) {
      const late = mock.delayMs >= timeoutMs;
      const finished = await sleep(late ? timeoutMs : mock.delayMs, parent.signal);
      if (!finished) return { ok: false, error: { tag: 'cancelled' } };
      if (late) return { ok: false, error: { tag: 'timeout' } };
    }
    const { answer } = mock;
    // A fresh body per call: the guest's copy must not alias the rule's.
    return answer.ok ? { ok: true, value: { ...answer.value, headers: [...answer.value.headers], body: answer.value.body.slice() } } : answer;
  }
}
