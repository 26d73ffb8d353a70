/**
 * What `/config` may show of a config. Secrets reach a gateway as plugin config (an API key for a
 * classifier service), as header values (a route matching on `authorization`) or inside URLs
 * (`https://user:pass@host`). The rule, documented in docs/config.md#admin-endpoints:
 * - a value under a key that looks secret (token, secret, password, key, authorization,
 *   credential, cookie) is replaced whole, whatever its type, in plugin `config` and in header maps;
 * - a string that reads as credentials (`Bearer ...`, `Basic ...`) is replaced wherever it is;
 * - a URL's password is replaced wherever it is.
 * Gateway keys outside plugin config are the runtime's own (`maxContextKeys` is a number, not a
 * secret), so there only the value rules apply, plus header maps.
 */

export const REDACTED = '[redacted]';

const SECRET_KEY = /token|secret|passw(?:or)?d|pwd|key|authori[sz]ation|credential|cookie|session/i;
const CREDENTIAL_VALUE = /^\s*(?:bearer|basic|digest|negotiate|token)\s+\S/i;
const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^/@:\s]*:)[^/@\s]*@/i;

export function looksSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

function redactValue(value: string): string {
  if (CREDENTIAL_VALUE.test(value)) return REDACTED;
  return value.replace(URL_PASSWORD, `$1${REDACTED}@`);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `keys`: apply the key rule at this level and below (plugin config, header maps). */
function walk(value: unknown, keys: boolean): Json {
  if (typeof value === 'string') return redactValue(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => walk(v, keys));
  if (typeof value !== 'object') return null;
  const out: { [key: string]: Json } = {};
  const record = value as Record<string, unknown>;
  // A header as { name, value } (a list of headers in plugin config) carries its secret in `value`.
  const namedSecret = keys && typeof record.name === 'string' && looksSecretKey(record.name);
  for (const [k, v] of Object.entries(record)) {
    if (v === undefined) continue;
    if ((keys && looksSecretKey(k)) || (namedSecret && k === 'value')) out[k] = REDACTED;
    else out[k] = walk(v, keys || k === 'config' || k === 'headers');
  }
  return out;
}

/**
 * A deep copy of `config` with secrets replaced. Plugin `config` subtrees and `headers` maps
 * follow the key rule; everything follows the value rules. A plugin config given as a string
 * (raw text handed to the guest) cannot be read key by key and is replaced whole.
 */
export function redactConfig(config: unknown): Json {
  const copy = walk(config, false);
  const plugins = copy && typeof copy === 'object' && !Array.isArray(copy) ? copy.plugins : undefined;
  if (plugins && typeof plugins === 'object' && !Array.isArray(plugins)) {
    for (const p of Object.values(plugins)) {
      if (p && typeof p === 'object' && !Array.isArray(p) && typeof p.config === 'string') p.config = REDACTED;
    }
  }
  return copy;
}
