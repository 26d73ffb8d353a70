/** Maps undici / socket failures onto the WIT `subrequest-error` variant. */
import type { SubrequestError } from '../component/types.ts';

const CONNECT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Happy-eyeballs connects fail with an AggregateError of the per-address errors.
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const c = errorCode(inner);
      if (c !== undefined) return c;
    }
  }
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err ? errorCode(cause) : undefined;
}

function describe(err: unknown, code: string | undefined): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (code === undefined) return msg;
  return msg.includes(code) ? msg : `${code}: ${msg}`;
}

/**
 * `phase` is where the failure happened: before the response head arrived (a dropped or
 * refused connection is then a `connect` failure) or while reading the body (a cut body
 * is a `protocol` failure: the response was not what its head promised).
 */
export function classifyError(err: unknown, phase: 'head' | 'body'): SubrequestError {
  const code = errorCode(err);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return { tag: 'connect', reason: describe(err, code) };
  if (code !== undefined && TIMEOUT_CODES.has(code)) return { tag: 'timeout' };
  if (phase === 'head' && code !== undefined && CONNECT_CODES.has(code)) {
    return { tag: 'connect', reason: describe(err, code) };
  }
  return { tag: 'protocol', reason: describe(err, code) };
}
