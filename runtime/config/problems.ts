/**
 * ajv errors as one line each that names the key path (`routes[0].filters[1]: ...`), with a
 * "did you mean" for an unknown key close to a known one. Shared by the gateway config and the
 * plugin configs checked against a plugin's own schema, so both read the same.
 */
import type { ErrorObject } from 'ajv';

/** `routes[0].filters[1]`-style path from ajv's JSON pointer, under `prefix` when given. */
export function keyPath(pointer: string, extra?: string, prefix = ''): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = prefix;
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || '(top level)';
}

/** Edit distance (insertions, deletions, substitutions), stopping early past `max`. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, row[j]!);
    }
    if (best > max) return max + 1;
    prev = row;
  }
  return prev[b.length]!;
}

/** The known key closest to `unknown` within 2 edits (ties: the first known), if any. */
export function closestKey(unknown: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(unknown.toLowerCase(), k.toLowerCase(), 2);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** The property names an object schema declares (ajv passes it as parentSchema with `verbose`). */
function declaredKeys(schema: unknown): string[] {
  const props = (schema as { properties?: unknown } | undefined)?.properties;
  return props && typeof props === 'object' ? Object.keys(props) : [];
}

/** One problem line for an ajv error (compile with `verbose: true` for the "did you mean"). */
export function describe(e: ErrorObject, prefix = ''): string {
  const p = e.params as Record<string, unknown>;
  const at = (extra?: string) => keyPath(e.instancePath, extra, prefix);
  switch (e.keyword) {
    case 'required': return `${at(String(p.missingProperty))}: is required`;
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const near = closestKey(key, declaredKeys(e.parentSchema));
      return `${at(key)}: unknown key${near !== undefined ? ` (did you mean "${near}"?)` : ''}`;
    }
    case 'enum': return `${at()}: must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'propertyNames': return `${at()}: invalid name ${JSON.stringify(p.propertyName)}`;
    default: return `${at()}: ${e.message ?? 'is invalid'}`;
  }
}
