/**
 * Request-target normalisation (RFC 3986 section 6.2.2), done once before routing so that the
 * path a route matches, the path filters see and the path the upstream receives are the same
 * string. Without it `/plain/../bad`, `/plain/%2e%2e/bad`, `//bad` or `/%62ad` reach a route's
 * upstream while skipping the filters of the route they really name. The rules are in
 * docs/config.md ("Paths").
 */

/** The `paths` config block, with its defaults applied. */
export interface PathPolicy {
  /** Runs of `/` count as one (`//a///b` is `/a/b`). */
  readonly mergeSlashes: boolean;
  /** `%2F` and `%5C` are refused; when allowed they stay encoded and never separate segments. */
  readonly rejectEncodedSlash: boolean;
}

export const DEFAULT_PATH_POLICY: PathPolicy = { mergeSlashes: true, rejectEncodedSlash: true };

export function pathPolicyOf(config: { mergeSlashes?: boolean; rejectEncodedSlash?: boolean } | undefined): PathPolicy {
  return { ...DEFAULT_PATH_POLICY, ...config };
}

/** Why a request-target was refused (logged; the client gets a fixed 400). */
export type TargetRefusal =
  | 'not_origin_form' | 'malformed_escape' | 'encoded_slash' | 'nul' | 'backslash' | 'fragment' | 'invalid_character';

export type TargetVerdict =
  | { readonly ok: true; readonly path: string; readonly query: string }
  | { readonly ok: false; readonly reason: TargetRefusal };

// A path already in normal form: segments of pchars (no `%`), none empty, `.` or `..`; an
// optional trailing slash. Nearly every request takes this shortcut.
const NORMAL = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9\-._~!$&'()*+,;=:@]+)*\/?$/;
// pchar minus `%` (handled apart), plus `/`: kept as they are.
const KEPT = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const HEX2 = /^[0-9A-Fa-f]{2}$/;

/**
 * Splits a request-target into its normalised path and its query (`?...`, passed on untouched),
 * or says why it is refused. Only origin-form (`/path[?query]`) is accepted: a reverse proxy has
 * no use for absolute-form, authority-form or `*`, and each would route on something else.
 */
export function normaliseTarget(target: string, policy: PathPolicy): TargetVerdict {
  if (!target.startsWith('/')) return { ok: false, reason: 'not_origin_form' };
  const q = target.indexOf('?');
  const raw = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q);
  if (NORMAL.test(raw)) return { ok: true, path: raw, query };
  const canonical = canonicalChars(raw, policy);
  if (typeof canonical !== 'string') return canonical;
  return { ok: true, path: removeDotSegments(canonical, policy.mergeSlashes), query };
}

/**
 * One pass over the characters: unreserved escapes decoded (`%7E` is `~`, `%2e` is `.`), other
 * escapes upper-cased, characters outside pchar percent-encoded, dangerous ones refused.
 */
function canonicalChars(raw: string, policy: PathPolicy): string | { ok: false; reason: TargetRefusal } {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '%') {
      const hex = raw.slice(i + 1, i + 3);
      if (!HEX2.test(hex)) return { ok: false, reason: 'malformed_escape' };
      i += 2;
      const byte = parseInt(hex, 16);
      const decoded = String.fromCharCode(byte);
      if (byte === 0) return { ok: false, reason: 'nul' };
      if (byte === 0x2f || byte === 0x5c) {
        // Upstreams that decode before routing would see a separator the gateway did not.
        if (policy.rejectEncodedSlash) return { ok: false, reason: 'encoded_slash' };
        out += `%${hex.toUpperCase()}`;
      } else out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
      continue;
    }
    if (KEPT.test(c)) out += c;
    else if (c === '\\') return { ok: false, reason: 'backslash' };
    else if (c === '\0') return { ok: false, reason: 'nul' };
    else if (c === '#') return { ok: false, reason: 'fragment' };
    else {
      // Node hands the target over as latin1, one char per byte; controls and space never belong.
      const code = c.charCodeAt(0);
      if (code <= 0x20 || code === 0x7f || code > 0xff) return { ok: false, reason: 'invalid_character' };
      out += `%${code.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

/**
 * RFC 3986 5.2.4 over segments: `.` goes, `..` takes the segment before it (never above the
 * root), a path ending in a dot segment keeps a trailing slash. With `mergeSlashes` empty
 * segments (runs of `/`) are dropped first, except a trailing one.
 */
function removeDotSegments(path: string, mergeSlashes: boolean): string {
  const input = path.slice(1).split('/');
  const out: string[] = [];
  input.forEach((seg, i) => {
    const last = i === input.length - 1;
    if (seg === '.' || seg === '..') {
      if (seg === '..') out.pop();
      if (last) out.push('');
      return;
    }
    if (seg === '' && mergeSlashes && !last) return;
    out.push(seg);
  });
  return `/${out.join('/')}`;
}
