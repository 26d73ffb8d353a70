/**
 * Lifting and lowering of the praxis:filter world's own types (layouts in docs/abi.md).
 * Shared by the fast binding; the jco glue does the same work generically.
 */
import { GuestTrap } from './errors.ts';
import type { GuestMemory } from './guest-memory.ts';
import type { Action, BodyMode, ConfigureResult, HeaderHooks, LogLevel, Mutations, Subrequest, SubrequestResult } from './types.ts';

const ERROR_TAGS = ['timeout', 'too-large', 'denied', 'overloaded', 'cancelled', 'connect', 'protocol'] as const;
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function liftBodyMode(mem: GuestMemory, at: number): BodyMode {
  const tag = mem.u8At(at);
  switch (tag) {
    case 0: return { tag: 'none' };
    case 1: return { tag: 'stream' };
    case 2: return { tag: 'stream-buffer', maxBytes: mem.u32At(at + 4) };
    default: throw new GuestTrap(`invalid body-mode tag ${tag}`);
  }
}

/** `flags header-hooks` (1 byte): bit 0 request-headers, bit 1 response-headers; other bits trap. */
function liftHeaderHooks(mem: GuestMemory, at: number): HeaderHooks {
  const bits = mem.u8At(at);
  if (bits & ~0b11) throw new GuestTrap(`invalid header-hooks flags 0x${bits.toString(16)}`);
  return { requestHeaders: (bits & 1) !== 0, responseHeaders: (bits & 2) !== 0 };
}

/** `result<filter-info, string>` (32 bytes): tag @0, filter-info (28 bytes) or string @4. */
export function liftConfigureResult(mem: GuestMemory, ptr: number): ConfigureResult {
  ptr >>>= 0; // the export's i32 result arrives signed
  const tag = mem.u8At(ptr);
  if (tag === 0) {
    return {
      ok: true,
      value: {
        name: mem.stringAt(ptr + 4),
        requestBody: liftBodyMode(mem, ptr + 12),
        responseBody: liftBodyMode(mem, ptr + 20),
        headerHooks: liftHeaderHooks(mem, ptr + 28),
      },
    };
  }
  if (tag === 1) return { ok: false, error: mem.stringAt(ptr + 4) };
  throw new GuestTrap(`invalid result tag ${tag}`);
}

function liftMutations(mem: GuestMemory, at: number): Mutations {
  const m: Mutations = { setHeaders: mem.headersAt(at), removeHeaders: mem.stringListAt(at + 8) };
  const body = mem.optionBytesAt(at + 16);
  if (body !== undefined) m.body = body;
  const upstream = mem.optionStringAt(at + 28);
  if (upstream !== undefined) m.upstream = upstream;
  return m;
}

export function liftAction(mem: GuestMemory, ptr: number): Action {
  ptr >>>= 0; // the export's i32 result arrives signed
  const tag = mem.u8At(ptr);
  switch (tag) {
    case 0: {
      const some = mem.u8At(ptr + 4);
      if (some === 0) return { tag: 'continue' };
      if (some !== 1) throw new GuestTrap(`invalid option tag ${some}`);
      return { tag: 'continue', mutations: liftMutations(mem, ptr + 8) };
    }
    case 1: {
      const rejection: Action & { tag: 'reject' } = {
        tag: 'reject',
        rejection: { status: mem.u16At(ptr + 4), headers: mem.headersAt(ptr + 8) },
      };
      const body = mem.optionBytesAt(ptr + 16);
      if (body !== undefined) rejection.rejection.body = body;
      return rejection;
    }
    case 2: return { tag: 'release' };
    case 3: return { tag: 'body-done' };
    default: throw new GuestTrap(`invalid action tag ${tag}`);
  }
}

/** The sub-request of `http-subrequest`, from its 11 flattened parameters. */
export function liftSubrequestFlat(
  mem: GuestMemory,
  mp: number, ml: number, up: number, ul: number, hp: number, hl: number,
  bodyTag: number, bp: number, bl: number, timeoutTag: number, timeout: number,
): Subrequest {
  const req: Subrequest = { method: mem.string(mp, ml), url: mem.string(up, ul), headers: mem.headers(hp, hl) };
  if (bodyTag === 1) req.body = mem.bytes(bp, bl);
  else if (bodyTag !== 0) throw new GuestTrap(`invalid option tag ${bodyTag}`);
  if (timeoutTag === 1) req.timeoutMs = timeout >>> 0;
  else if (timeoutTag !== 0) throw new GuestTrap(`invalid option tag ${timeoutTag}`);
  return req;
}

/** One 44-byte `subrequest` element of the list given to `http-subrequest-all`. */
export function liftSubrequestAt(mem: GuestMemory, at: number): Subrequest {
  const req: Subrequest = { method: mem.stringAt(at), url: mem.stringAt(at + 8), headers: mem.headersAt(at + 16) };
  const body = mem.optionBytesAt(at + 24);
  if (body !== undefined) req.body = body;
  const timeoutTag = mem.u8At(at + 36);
  if (timeoutTag === 1) req.timeoutMs = mem.u32At(at + 40);
  else if (timeoutTag !== 0) throw new GuestTrap(`invalid option tag ${timeoutTag}`);
  return req;
}

export const SUBREQUEST_SIZE = 44;
export const SUBREQUEST_RESULT_SIZE = 24;

/** Writes a `result<subresponse, subrequest-error>` at `at` (24 bytes, already allocated). */
export function lowerSubrequestResult(mem: GuestMemory, at: number, result: SubrequestResult): void {
  if (result.ok) {
    const { status, headers, body } = result.value;
    const hp = mem.putHeaders(headers);
    const hl = mem.len;
    const bp = mem.putBytes(body);
    const bl = mem.len;
    mem.setU8(at, 0);
    mem.setU16(at + 4, status);
    mem.setPair(at + 8, hp, hl);
    mem.setPair(at + 16, bp, bl);
    return;
  }
  const err = result.error;
  const tag = ERROR_TAGS.indexOf(err.tag);
  if (tag < 0) throw new GuestTrap(`invalid subrequest-error tag ${String(err.tag)}`);
  if ('reason' in err) {
    const rp = mem.putString(err.reason);
    mem.setPair(at + 8, rp, mem.len);
  }
  mem.setU8(at, 1);
  mem.setU8(at + 4, tag);
}

/** Writes an `option<list<u8>>` at `at` (12 bytes). */
export function lowerOptionBytes(mem: GuestMemory, at: number, value: Uint8Array | undefined): void {
  if (value === undefined) {
    mem.setU8(at, 0);
    return;
  }
  const p = mem.putBytes(value);
  mem.setU8(at, 1);
  mem.setPair(at + 4, p, mem.len);
}
