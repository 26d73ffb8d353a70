/**
 * Hostile filter components written in WAT: a minimal, correct praxis filter (docs/abi.md) whose
 * hooks, imports or extra module fields a test replaces with whatever misbehaviour it probes.
 * The core module goes through the same componentize step as the SDK builds.
 */
import { parse } from '@bytecodealliance/jco';
import { fileURLToPath } from 'node:url';
import { WIT_PATH, componentize } from '../../runtime/build/componentize.ts';
import { type WorldVersion, filterExport } from '../../runtime/component/world-version.ts';
import type { HeaderList, HostCalls, RequestHead, RequestInfo } from '../../runtime/component/types.ts';
import { noKeyValue } from '../../runtime/keyvalue/no-store.ts';
import { systemClockCalls } from '../../runtime/component/host-clock.ts';

export interface HostileParts {
  /** Extra imports, as WAT module fields placed before everything else (e.g. context or log imports). */
  imports?: string;
  /** Instructions run at the start of on-request-headers (the hook then answers continue). */
  requestHeaders?: string;
  /** Instructions run at the start of on-response-headers (the hook then answers continue). */
  responseHeaders?: string;
  /** Instructions run at the start of configure (it then answers the filter-info). */
  configure?: string;
  /** Extra module fields: functions, tables, globals, a start function, exports. */
  extra?: string;
  /** Initial pages of linear memory (default 2). */
  pages?: number;
  /**
   * The praxis:filter version it is built against (default 0.1.0: the compatibility case, which
   * IMPORTS names); `keyvalue` imports (KV_IMPORTS) need 0.2.0.
   */
  version?: WorldVersion;
}

/** Imports a hostile module may name; `imports: IMPORTS.log` and so on. */
export const IMPORTS = {
  log: '(import "praxis:filter/log@0.1.0" "log" (func $log (param i32 i32 i32)))',
  contextGet: '(import "praxis:filter/context@0.1.0" "get" (func $ctx_get (param i32 i32 i32)))',
  contextSet: '(import "praxis:filter/context@0.1.0" "set" (func $ctx_set (param i32 i32 i32 i32)))',
  subrequest: '(import "praxis:filter/http-client@0.1.0" "http-subrequest" (func $sub (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))',
} as const;

/** The `keyvalue` imports of praxis:filter@0.2.0 (use with `version: '0.2.0'`). */
export const KV_IMPORTS = {
  get: '(import "praxis:filter/keyvalue@0.2.0" "get" (func $kv_get (param i32 i32 i32 i32 i32)))',
  set: '(import "praxis:filter/keyvalue@0.2.0" "set" (func $kv_set (param i32 i32 i32 i32 i32 i32 i32 i32 i32)))',
  delete: '(import "praxis:filter/keyvalue@0.2.0" "delete" (func $kv_delete (param i32 i32 i32 i32 i32)))',
  increment: '(import "praxis:filter/keyvalue@0.2.0" "increment" (func $kv_incr (param i32 i32 i32 i32 i64 i32 i32 i32)))',
  compareAndSwap: '(import "praxis:filter/keyvalue@0.2.0" "compare-and-swap" (func $kv_cas (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))',
} as const;

/** The WIT each version's components embed (the current one, and the kept 0.1.0 text). */
export const WIT_OF: Record<WorldVersion, string> = {
  '0.1.0': fileURLToPath(new URL('../../wit/0.1.0/praxis.wit', import.meta.url)),
  '0.2.0': WIT_PATH,
};
const P = (n: number) => Array.from({ length: n }, () => 'i32').join(' ');

/**
 * The WAT text of a filter named "hostile": no body hooks, both header hooks declared, every hook
 * answers `continue` (a zeroed action at 2048) after running the test's instructions.
 * Memory map: 64 the name, 1024 configure's result, 2048 the action, 4096.. a bump heap.
 */
export function hostileWat(parts: HostileParts = {}): string {
  const FILTER = filterExport(parts.version ?? '0.1.0');
  return `(module
  ${parts.imports ?? ''}
  (memory (export "memory") ${parts.pages ?? 2})
  (data (i32.const 64) "hostile")
  (global $heap (mut i32) (i32.const 4096))
  (func $realloc (export "cabi_realloc") (param $old i32) (param $osize i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.lt_s (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))) (i32.const 0))
        (then unreachable))))
    (local.get $p))
  (func (export "${FILTER}#configure") (param i32 i32) (result i32)
    ${parts.configure ?? ''}
    (global.set $heap (i32.const 4096))
    (i32.store8 (i32.const 1024) (i32.const 0))
    (i32.store (i32.const 1028) (i32.const 64))
    (i32.store (i32.const 1032) (i32.const 7))
    (i32.store8 (i32.const 1036) (i32.const 0))
    (i32.store8 (i32.const 1044) (i32.const 0))
    (i32.store8 (i32.const 1052) (i32.const 3))
    (i32.const 1024))
  (func $continue (result i32)
    (global.set $heap (i32.const 4096))
    (memory.fill (i32.const 2048) (i32.const 0) (i32.const 48))
    (i32.const 2048))
  (func (export "${FILTER}#on-request-headers") (param ${P(13)}) (result i32)
    ${parts.requestHeaders ?? ''}
    (call $continue))
  (func (export "${FILTER}#on-request-body") (param ${P(8)}) (result i32) (call $continue))
  (func (export "${FILTER}#on-response-headers") (param ${P(8)}) (result i32)
    ${parts.responseHeaders ?? ''}
    (call $continue))
  (func (export "${FILTER}#on-response-body") (param ${P(8)}) (result i32) (call $continue))
  (func (export "cabi_post_${FILTER}#configure") (param i32))
  (func (export "cabi_post_${FILTER}#on-request-headers") (param i32))
  (func (export "cabi_post_${FILTER}#on-request-body") (param i32))
  (func (export "cabi_post_${FILTER}#on-response-headers") (param i32))
  (func (export "cabi_post_${FILTER}#on-response-body") (param i32))
  ${parts.extra ?? ''}
)`;
}

/** The core module of a hostile filter, as wasm bytes. */
export async function hostileCore(parts: HostileParts = {}): Promise<Uint8Array> {
  return parse(hostileWat(parts));
}

/** A praxis filter component whose core module is `hostileWat(parts)`. */
export async function hostileComponent(parts: HostileParts = {}): Promise<Uint8Array> {
  return componentize(await hostileCore(parts), WIT_OF[parts.version ?? '0.1.0']);
}

/** A host for calling hooks directly: sub-requests denied, no context, log lines pushed to `logs`. */
export function quietHost(logs?: string[]): HostCalls {
  const denied = { ok: false as const, error: { tag: 'denied' as const, reason: 'test' } };
  return {
    httpSubrequest: async () => denied,
    httpSubrequestAll: async (r) => r.map(() => denied),
    contextGet: () => undefined,
    contextSet: () => {},
    ...noKeyValue('none in this test'), ...systemClockCalls,
    log: (_level, msg) => { logs?.push(msg); },
  };
}

export const INFO: RequestInfo = { requestId: 'r1', attempt: 1, route: 'r' };

/** A GET request head with the given headers. */
export function requestHead(headers: HeaderList = []): RequestHead {
  return { method: 'GET', path: '/', authority: 'a', headers };
}
