/**
 * Mocked sub-requests: rules that answer a filter's `http-subrequest` calls in place of the
 * network (a response, an error of the WIT `subrequest-error` kind, after an optional delay).
 * Rules come from code (the test kit) or from a JSON file (`praxis-wasm try --mock FILE`); both
 * go through `parseMocks`, so a bad rule gets the same precise error either way.
 */
import type { HeaderList, Subrequest, SubrequestError, SubrequestResult } from '../component/types.ts';

export type MockErrorKind = SubrequestError['tag'];

/** A response body: text, bytes, or a JSON value (sent as JSON, content-type application/json unless set). */
export type MockBody = string | Uint8Array | Record<string, unknown> | unknown[];

export interface MockResponse {
  status?: number;
  headers?: Record<string, string> | HeaderList;
  body?: MockBody;
}

export interface MockRule {
  /** The sub-request's URL: exact, or with `*` matching any run of characters; or a RegExp (code only). */
  match: string | RegExp;
  /** Only this method (any when absent). */
  method?: string;
  /** Answer with this response (status 200 by default) ... */
  response?: MockResponse;
  /** ... or fail with this error: a kind (`"timeout"`), or `{ kind, reason }` for denied/connect/protocol. */
  error?: MockErrorKind | { kind: MockErrorKind; reason?: string };
  /** Answer after this long; a delay past the sub-request's timeout answers `timeout` at the timeout. */
  delayMs?: number;
  /** Answer this many matching calls, then let later rules (or the network) answer (default: every call). */
  times?: number;
}

/** A rule checked and compiled: what the mocked bridge consults per call. */
export interface CompiledMock {
  readonly index: number;
  readonly pattern: string;
  matches(req: Subrequest): boolean;
  readonly answer: SubrequestResult;
  readonly delayMs: number;
  /** Calls it may still answer (Infinity: every call). */
  remaining: number;
}

const ERROR_KINDS: ReadonlySet<string> = new Set(['timeout', 'too-large', 'denied', 'overloaded', 'cancelled', 'connect', 'protocol']);
const WITH_REASON: ReadonlySet<string> = new Set(['denied', 'connect', 'protocol']);

export class MockError extends Error {
  override name = 'MockError';
}

function fail(where: string, what: string): never {
  throw new MockError(`${where}: ${what}`);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** `*` matches any run of characters; everything else literally; the whole URL must match. */
function globToRegExp(glob: string): RegExp {
  const body = glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`);
}

function headerList(where: string, raw: unknown): HeaderList {
  if (raw === undefined) return [];
  const pairs: unknown[] = Array.isArray(raw) ? raw : isRecord(raw) ? Object.entries(raw) : fail(where, 'expected an object of header names to values, or a list of [name, value]');
  return pairs.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || typeof p[1] !== 'string' || p[0] === '') {
      fail(`${where}[${Array.isArray(raw) ? i : JSON.stringify((p as unknown[])[0])}]`, 'expected a header name and a string value');
    }
    return [p[0].toLowerCase(), p[1]] as [string, string];
  });
}

function responseOf(where: string, raw: unknown): SubrequestResult {
  if (!isRecord(raw)) fail(where, 'expected an object { status, headers, body }');
  for (const key of Object.keys(raw)) if (!['status', 'headers', 'body'].includes(key)) fail(`${where}.${key}`, 'unknown key (expected status, headers, body)');
  const status = raw.status ?? 200;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) fail(`${where}.status`, 'expected an integer 100-599');
  const headers = headerList(`${where}.headers`, raw.headers);
  const body = raw.body;
  let bytes: Uint8Array;
  if (body === undefined) bytes = new Uint8Array(0);
  else if (typeof body === 'string') bytes = Buffer.from(body, 'utf8');
  else if (body instanceof Uint8Array) bytes = body;
  else if (typeof body === 'object' && body !== null) {
    bytes = Buffer.from(JSON.stringify(body), 'utf8');
    if (!headers.some(([k]) => k === 'content-type')) headers.push(['content-type', 'application/json']);
  } else fail(`${where}.body`, 'expected text, bytes, or a JSON object or array');
  return { ok: true, value: { status, headers, body: bytes } };
}

function errorOf(where: string, raw: unknown): SubrequestResult {
  const kind = typeof raw === 'string' ? raw : isRecord(raw) ? raw.kind : undefined;
  if (typeof kind !== 'string' || !ERROR_KINDS.has(kind)) fail(isRecord(raw) ? `${where}.kind` : where, `expected one of ${[...ERROR_KINDS].join(', ')}`);
  const reason = isRecord(raw) ? raw.reason : undefined;
  if (reason !== undefined && typeof reason !== 'string') fail(`${where}.reason`, 'expected text');
  if (reason !== undefined && !WITH_REASON.has(kind)) fail(`${where}.reason`, `a ${kind} error carries no reason`);
  const error = (WITH_REASON.has(kind) ? { tag: kind, reason: reason ?? `mocked ${kind}` } : { tag: kind }) as SubrequestError;
  return { ok: false, error };
}

/** Checks rules (from code or parsed JSON) and compiles them; throws MockError naming the rule and key. */
export function parseMocks(raw: unknown, where = 'mocks'): CompiledMock[] {
  if (!Array.isArray(raw)) fail(where, 'expected a list of { match, response | error, delayMs }');
  return raw.map((rule: unknown, index) => {
    const at = `${where}[${index}]`;
    if (!isRecord(rule)) fail(at, 'expected an object { match, response | error, delayMs }');
    for (const key of Object.keys(rule)) {
      if (!['match', 'method', 'response', 'error', 'delayMs', 'times'].includes(key)) fail(`${at}.${key}`, 'unknown key (expected match, method, response, error, delayMs, times)');
    }
    const { match, method, response, error, delayMs = 0, times } = rule;
    let re: RegExp;
    if (match instanceof RegExp) re = match;
    else if (typeof match === 'string' && match !== '') re = globToRegExp(match);
    else fail(`${at}.match`, 'expected a URL pattern (`*` matches any characters)');
    if (method !== undefined && (typeof method !== 'string' || method === '')) fail(`${at}.method`, 'expected an HTTP method');
    if (response !== undefined && error !== undefined) fail(at, 'give either response or error, not both');
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) fail(`${at}.delayMs`, 'expected a number of ms >= 0');
    if (times !== undefined && (typeof times !== 'number' || !Number.isInteger(times) || times < 1)) fail(`${at}.times`, 'expected an integer >= 1');
    const answer = error !== undefined ? errorOf(`${at}.error`, error) : responseOf(`${at}.response`, response ?? {});
    const wantMethod = typeof method === 'string' ? method.toUpperCase() : undefined;
    return {
      index,
      pattern: String(match),
      matches: (req: Subrequest) => re.test(req.url) && (wantMethod === undefined || req.method.toUpperCase() === wantMethod),
      answer,
      delayMs,
      remaining: times ?? Infinity,
    };
  });
}

/** The first rule that matches and may still answer, used up by one. */
export function takeMock(mocks: readonly CompiledMock[], req: Subrequest): CompiledMock | undefined {
  const hit = mocks.find((m) => m.remaining > 0 && m.matches(req));
  if (hit) hit.remaining--;
  return hit;
}
