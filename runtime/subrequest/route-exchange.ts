/**
 * A `route://` sub-request once the bridge has admitted it (allow-list, sizes, timeout, a slot):
 * the call handed to the gateway's in-process route target under the same timeout and response
 * ceiling as a network sub-request. The route's own refusals come back as responses (508 for a
 * loop, 429 when saturated), as they would over the network.
 */
import type { HeaderList, SubrequestResult } from '../component/types.ts';
import { responseHeaderList } from './identity.ts';
import { declaredTooLarge, discardBody, readBounded } from './read-body.ts';
import type { RouteTarget } from './route-target.ts';

export interface RouteTally {
  status: number | undefined;
  bytesIn: number;
  bytesOut: number;
}

export interface RouteExchange {
  route: string;
  path: string;
  method: string;
  /** The guest's headers with the gateway's identity headers (parent id, attempt, depth + 1). */
  headers: HeaderList;
  body: Uint8Array | undefined;
  timeoutMs: number;
  maxBytes: number;
  parentSignal: AbortSignal;
}

export async function routeExchange(target: RouteTarget, call: RouteExchange, tally: RouteTally): Promise<SubrequestResult> {
  const timer = new AbortController();
  const handle = setTimeout(() => timer.abort(new DOMException('sub-request timed out', 'TimeoutError')), call.timeoutMs);
  const signal = AbortSignal.any([call.parentSignal, timer.signal]);
  const failure = (err: unknown): SubrequestResult => {
    if (call.parentSignal.aborted) return { ok: false, error: { tag: 'cancelled' } };
    if (timer.signal.aborted) return { ok: false, error: { tag: 'timeout' } };
    return { ok: false, error: { tag: 'protocol', reason: `route ${call.route}: ${err instanceof Error ? err.message : String(err)}` } };
  };
  try {
    tally.bytesOut += call.body?.byteLength ?? 0;
    let res;
    try {
      res = await target({ route: call.route, path: call.path, method: call.method, headers: call.headers, body: call.body, signal });
    } catch (err) {
      return failure(err);
    }
    tally.status = res.status;
    if (call.method.toUpperCase() !== 'HEAD' && declaredTooLarge(res.headers['content-length'], call.maxBytes)) {
      discardBody(res.body);
      return { ok: false, error: { tag: 'too-large' } };
    }
    try {
      const read = await readBounded(res.body, call.maxBytes);
      tally.bytesIn = read.bytes;
      if (!read.ok) return { ok: false, error: { tag: 'too-large' } };
      return { ok: true, value: { status: res.status, headers: responseHeaderList(res.headers), body: read.body } };
    } catch (err) {
      return failure(err);
    }
  } finally {
    clearTimeout(handle);
  }
}
