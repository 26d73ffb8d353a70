/**
 * `${NAME}` references in a plugin's config, resolved by the host when the plugin loads: a plugin
 * sees no host environment, and a secret (an upstream's API key) should not have to sit in the
 * config file. Only a whole string value is a reference (`"${OPENAI_API_KEY}"`), so text that
 * merely contains `${` keeps its meaning. The config object itself keeps the reference: `/config`
 * shows the variable's name, never its value.
 */

const REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export class EnvReferenceError extends Error {
  constructor(path: string, name: string) {
    super(`${path}: environment variable ${name} is not set (named as "\${${name}}")`);
    this.name = 'EnvReferenceError';
  }
}

/**
 * A copy of `value` with every whole-string `${NAME}` replaced by the variable's value; an unset
 * (or empty) variable throws, naming the key path. Values that hold no reference are returned as is.
 */
export function resolveEnvRefs(value: unknown, path: string, env: NodeJS.ProcessEnv = process.env): unknown {
  if (typeof value === 'string') {
    const m = REFERENCE.exec(value);
    if (!m) return value;
    const resolved = env[m[1]!];
    if (resolved === undefined || resolved === '') throw new EnvReferenceError(path, m[1]!);
    return resolved;
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveEnvRefs(v, `${path}[${i}]`, env));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveEnvRefs(v, `${path}.${k}`, env);
    return out;
  }
  return value;
}

/** Values shorter than this are not hidden: they read as ordinary text (a port, a flag), not a secret. */
const MIN_HIDDEN_LENGTH = 4;

/**
 * A function that puts each `${NAME}` back in place of its value in a text the plugin wrote (its
 * configure error, its configure-time log lines): a plugin that echoes its config must not put a
 * secret the operator kept out of the config file into the gateway's logs. Identity when `value`
 * holds no reference.
 */
export function envValueHider(value: unknown, env: NodeJS.ProcessEnv = process.env): (text: string) => string {
  const found = new Map<string, string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      const m = REFERENCE.exec(v);
      const resolved = m ? env[m[1]!] : undefined;
      if (m && resolved !== undefined && resolved.length >= MIN_HIDDEN_LENGTH) found.set(resolved, m[0]);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  if (found.size === 0) return (text) => text;
  // Longest first, so a value that contains another is hidden whole.
  const values = [...found.keys()].sort((a, b) => b.length - a.length);
  return (text) => values.reduce((t, secret) => t.split(secret).join(found.get(secret)!), text);
}
