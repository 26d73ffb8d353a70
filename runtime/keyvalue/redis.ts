/**
 * The `redis` backend: one store shared by every worker and every gateway that points at it.
 * Client: node-redis (`@redis/client`, the official client, maintained by Redis; the core package
 * alone, without the modules for search/JSON/time series that the `redis` meta-package adds).
 * Every call is bounded (bound.ts) and never queued while the connection is down
 * (`disableOfflineQueue`): it fails fast as `unavailable` while the client reconnects in the
 * background. Increment and compare-and-swap are Lua scripts, so each is one atomic step.
 */
import { createHash } from 'node:crypto';
import { createClient, RESP_TYPES } from '@redis/client';
import type { Logger } from 'pino';
import { type KvBackend, type KvOwner, fail, ok, parseCounter } from './backend.ts';
import { bounded, callBudget } from './bound.ts';
import type { KvCallScope, KvResult } from './types.ts';

export interface RedisOptions {
  url: string;
  /** Put before every key: `<keyPrefix><namespace>:<key>`. */
  keyPrefix: string;
  /** Longest wait for one call (clamped below the request's deadline). */
  timeoutMs: number;
  /** Longest wait for one connection attempt, and for the first one at start. */
  connectTimeoutMs: number;
}

export const DEFAULT_REDIS: RedisOptions = { url: 'redis://127.0.0.1:6379', keyPrefix: 'praxis:', timeoutMs: 50, connectTimeoutMs: 1000 };

/** Commands waiting for a reply at most; past it a call fails at once (a stalled server holds no unbounded queue). */
const MAX_QUEUED = 10_000;
const RECONNECT_MAX_MS = 1000;

// KEYS[1] counter; ARGV[1] delta; ARGV[2] ttl ms or "". The TTL is set only when INCRBY creates
// the key. The value is read back with GET: Lua numbers are doubles and would round past 2^53.
const INCREMENT = `local created = redis.call('EXISTS', KEYS[1]) == 0
redis.call('INCRBY', KEYS[1], ARGV[1])
if created and ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('GET', KEYS[1])`;

// KEYS[1]; ARGV[1] "1" when a value is expected (ARGV[2]) else "0" (the key must be absent);
// ARGV[3] new value; ARGV[4] ttl ms or "". Lua strings are byte strings: the compare is exact.
const COMPARE_AND_SWAP = `local current = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if current then return 0 end
elseif current ~= ARGV[2] then return 0 end
if ARGV[4] ~= '' then redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4]) else redis.call('SET', KEYS[1], ARGV[3]) end
return 1`;

const AS_BUFFER = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } };

type Reply = Buffer | number | null;

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const ttlArg = (ttlMs: number | undefined) => (ttlMs === undefined ? '' : String(Math.max(1, ttlMs)));

export class RedisBackend implements KvBackend {
  readonly kind = 'redis' as const;
  private readonly opts: RedisOptions;
  private readonly client;
  private readonly logger: Logger;
  private down = false;

  private constructor(opts: RedisOptions, logger: Logger) {
    this.opts = opts;
    this.logger = logger;
    this.client = createClient({
      url: opts.url,
      disableOfflineQueue: true,
      commandsQueueMaxLength: MAX_QUEUED,
      socket: {
        connectTimeout: opts.connectTimeoutMs,
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 5), RECONNECT_MAX_MS),
      },
    });
    // Without an 'error' listener a lost connection would be an uncaught error: log once per outage.
    this.client.on('error', (err: Error) => {
      if (this.down) return;
      this.down = true;
      this.logger.warn({ err: err.message, url: redactUrl(opts.url) }, 'key-value store: redis unreachable; calls answer unavailable while it reconnects');
    });
    this.client.on('ready', () => {
      if (this.down) this.logger.info({ url: redactUrl(opts.url) }, 'key-value store: redis reachable again');
      this.down = false;
    });
  }

  /** Connects, waiting at most `connectTimeoutMs`: a gateway starts with Redis down and uses it once it is up. */
  static async open(opts: RedisOptions, logger: Logger): Promise<RedisBackend> {
    const backend = new RedisBackend(opts, logger);
    const connecting = backend.client.connect().then(() => undefined, () => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([connecting, new Promise<void>((r) => { timer = setTimeout(r, opts.connectTimeoutMs); })]);
    clearTimeout(timer);
    return backend;
  }

  get(scope: KvCallScope, key: string): Promise<KvResult<Uint8Array | undefined>> {
    return this.call(scope, ['GET', this.key(key)], (r) => ok(Buffer.isBuffer(r) ? new Uint8Array(r) : undefined));
  }

  set(scope: KvCallScope, _owner: KvOwner, key: string, value: Uint8Array, ttlMs?: number): Promise<KvResult<void>> {
    const args = ['SET', this.key(key), asBuffer(value), ...(ttlMs === undefined ? [] : ['PX', ttlArg(ttlMs)])];
    return this.call(scope, args, () => ok(undefined));
  }

  delete(scope: KvCallScope, key: string): Promise<KvResult<boolean>> {
    return this.call(scope, ['DEL', this.key(key)], (r) => ok(r === 1));
  }

  increment(scope: KvCallScope, _owner: KvOwner, key: string, delta: bigint, ttlMs?: number): Promise<KvResult<bigint>> {
    return this.script(scope, INCREMENT, [this.key(key)], [delta.toString(), ttlArg(ttlMs)], (r) => {
      const n = Buffer.isBuffer(r) ? parseCounter(r) : undefined;
      return n === undefined ? fail('invalid', 'the value at this key is not a 64-bit integer') : ok(n);
    });
  }

  compareAndSwap(scope: KvCallScope, _owner: KvOwner, key: string, expected: Uint8Array | undefined, value: Uint8Array, ttlMs?: number): Promise<KvResult<boolean>> {
    const args = [expected === undefined ? '0' : '1', expected === undefined ? '' : asBuffer(expected), asBuffer(value), ttlArg(ttlMs)];
    return this.script(scope, COMPARE_AND_SWAP, [this.key(key)], args, (r) => ok(r === 1));
  }

  async close(): Promise<void> {
    try { this.client.destroy(); } catch { /* already closed */ }
  }

  private key(key: string): string {
    return this.opts.keyPrefix + key;
  }

  /** EVALSHA, and EVAL (which loads the script) when the server does not know it yet or forgot it on a restart. */
  private script<T>(scope: KvCallScope, source: string, keys: string[], args: (string | Buffer)[], map: (r: Reply) => KvResult<T>): Promise<KvResult<T>> {
    const tail = [String(keys.length), ...keys, ...args];
    return this.call(scope, ['EVALSHA', sha1(source), ...tail], map).then((r) =>
      (r.ok || !r.error.reason.startsWith('NOSCRIPT') ? r : this.call(scope, ['EVAL', source, ...tail], map)));
  }

  private call<T>(scope: KvCallScope, args: (string | Buffer)[], map: (r: Reply) => KvResult<T>): Promise<KvResult<T>> {
    const budget = callBudget(scope, this.opts.timeoutMs);
    if (typeof budget !== 'number') return Promise.resolve(budget);
    if (!this.client.isReady) return Promise.resolve(fail('unavailable', 'redis is not connected'));
    const work = this.client.sendCommand<Reply>(args, AS_BUFFER).then(map);
    return bounded(work, budget, scope.signal, (err) => this.failure(err));
  }

  /** A server error about the value is the caller's (`invalid`); anything else means the store is unreachable. */
  private failure(err: unknown): KvResult<never> {
    const message = err instanceof Error ? err.message : String(err);
    if (/not an integer|out of range|overflow/i.test(message)) return fail('invalid', message);
    if (message.startsWith('NOSCRIPT')) return fail('unavailable', message);
    return fail('unavailable', `redis: ${message}`);
  }
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
