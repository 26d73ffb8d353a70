/** Header-list edits, as filters' mutations describe them. Names are compared lower-case. */
import type { HeaderList, Mutations } from '../component/types.ts';

/**
 * The one pseudo-header a request hook may set: the path the upstream gets (origin-form). An
 * upstream filter translating between APIs needs it (OpenAI's /v1/chat/completions is
 * Anthropic's /v1/messages); it never reaches the upstream as a header.
 */
export const PATH_PSEUDO = ':path';
/** An origin-form path: a leading slash, then printable ASCII only (no spaces or controls). */
export const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;

export function getHeader(headers: HeaderList, name: string): string | undefined {
  const n = name.toLowerCase();
  for (const [k, v] of headers) if (k === n) return v;
  return undefined;
}

/** Removes `removeHeaders`, then sets each of `setHeaders` (replacing every earlier value of that name). */
export function applyHeaderMutations(headers: HeaderList, m: Pick<Mutations, 'setHeaders' | 'removeHeaders'>): HeaderList {
  if (m.setHeaders.length === 0 && m.removeHeaders.length === 0) return headers;
  const drop = new Set<string>();
  for (const name of m.removeHeaders) drop.add(name.toLowerCase());
  for (const [name] of m.setHeaders) drop.add(name.toLowerCase());
  const out: HeaderList = headers.filter(([k]) => !drop.has(k));
  for (const [k, v] of m.setHeaders) out.push([k.toLowerCase(), v]);
  return out;
}

/** node:http's rawHeaders ([k, v, k, v, ...]) as lower-case pairs. */
export function fromRawHeaders(raw: string[]): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}
