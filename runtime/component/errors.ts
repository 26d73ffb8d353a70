/** Why a component could not be loaded; `code` is stable for tests and callers. */
export type LoadErrorCode =
  | 'not-wasm'
  | 'truncated'
  | 'malformed'
  | 'core-module'
  | 'wrong-world'
  | 'unsupported-version'
  | 'forbidden-import'
  | 'unsupported'
  | 'uninstrumentable'
  | 'invalid-module'
  | 'reserved-export'
  | 'memory-limit'
  | 'table-limit'
  | 'io';

export class ComponentLoadError extends Error {
  readonly code: LoadErrorCode;
  constructor(code: LoadErrorCode, message: string) {
    super(message);
    this.name = 'ComponentLoadError';
    this.code = code;
  }
}

/**
 * What ended a guest call badly: a plain trap (unreachable, out-of-bounds, a host check), its CPU
 * budget running out (fuel), or its linear memory at the ceiling when it failed.
 */
export type TrapKind = 'trap' | 'cpu-budget' | 'memory';

/** The guest trapped (or broke a limit); the instance it ran on must be destroyed. */
export class GuestTrap extends Error {
  readonly kind: TrapKind;
  constructor(message: string, options?: { cause?: unknown; kind?: TrapKind }) {
    super(message, options);
    this.name = 'GuestTrap';
    this.kind = options?.kind ?? 'trap';
  }
}
