/** Header-list edits, as filters' mutations describe them. Names are compared lower-case. */
import type { HeaderList, Mutations } from '../component/types.ts';
import { normaliseTarget } from '../gateway/paths.ts';

/**
 * The one pseudo-header a request hook may set: the path the upstream gets (origin-form). An
 * upstream filter translating between APIs needs it (OpenAI's /v1/chat/completions is
 * Anthropic's /v1/messages); it never reaches the upstream as a header.
 */
export const PATH_PSEUDO = ':path';
/** An origin-form path: a leading slash, then printable ASCII only (no spaces or controls). */
export const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;

// Always the safe rules, whatever the route's `paths`: runs of `/` merged, `%2F` refused.
const FILTER_PATH_POLICY = { mergeSlashes: true, rejectEncodedSlash: true } as const;

/**
 * A filter's `:path` as the upstream may get it: normalised as a client's request-target is
 * (gateway/paths.ts), so dot segments cannot climb out of the upstream URL's base path and
 * `//host/x` (a network-path reference to servers that resolve it) becomes `/host/x`; undefined
 * when it is not a usable origin-form target (fragment, backslash, NUL, a bad or encoded-slash escape).
 */
export function filterPath(value: string): string | undefined {
  // A fragment is never part of a request-target, in the path or the query.
  if (!ORIGIN_FORM.test(value) || value.includes('#')) return undefined;
  const verdict = normaliseTarget(value, FILTER_PATH_POLICY);
  return verdict.ok ? verdict.path + verdict.query : undefined;
}

export function getHeader(headers: HeaderList, name: string): string | undefined {
  const n = name.toLowerCase();
  for (const [k, v] of headers) if (k === n) return v;
  return undefined;
}

/** Removes `removeHeaders`, then sets each of `setHeaders` (replacing every earlier value of that name). */
export function applyHeaderMutations(headers: HeaderList, m: Pick<Mutations, 'setHeaders' | 'removeHeaders'>): HeaderList {
  const { setHeaders, removeHeaders } = m;
  if (setHeaders.length === 0 && removeHeaders.length === 0) return headers;
  const out: HeaderList = [];
  // A filter's mutations are usually a few names: compared in place (length first), with no Set
  // per call; a long list gets the Set, so the work stays linear.
  if (setHeaders.length + removeHeaders.length > 8) {
    const drop = new Set<string>();
    for (const name of removeHeaders) drop.add(name.toLowerCase());
    for (const [name] of setHeaders) drop.add(name.toLowerCase());
    for (const h of headers) if (!drop.has(h[0])) out.push(h);
  } else {
    for (const h of headers) if (!named(h[0], setHeaders, removeHeaders)) out.push(h);
  }
  for (const h of setHeaders) {
    const lower = h[0].toLowerCase();
    // The pair is kept when already lower-case (header lists are never changed in place).
    out.push(lower === h[0] ? h : [lower, h[1]]);
  }
  return out;
}

/** Whether the (lower-case) name `k` is removed or set by these mutations, names compared case-insensitively. */
function named(k: string, set: Mutations['setHeaders'], remove: Mutations['removeHeaders']): boolean {
  for (const r of remove) if (r.length === k.length && r.toLowerCase() === k) return true;
  for (const s of set) if (s[0].length === k.length && s[0].toLowerCase() === k) return true;
  return false;
}

/** node:http's rawHeaders ([k, v, k, v, ...]) as lower-case pairs. */
export function fromRawHeaders(raw: string[]): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}
