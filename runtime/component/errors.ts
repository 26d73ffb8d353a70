/** Why a component could not be loaded; `code` is stable for tests and callers. */
export type LoadErrorCode =
  | 'not-wasm'
  | 'truncated'
  | 'malformed'
  | 'core-module'
  | 'wrong-world'
  | 'forbidden-import'
  | 'unsupported'
  | 'memory-limit'
  | 'io';

export class ComponentLoadError extends Error {
  readonly code: LoadErrorCode;
  constructor(code: LoadErrorCode, message: string) {
    super(message);
    this.name = 'ComponentLoadError';
    this.code = code;
  }
}

/** The guest trapped (or broke a limit); the instance it ran on must be destroyed. */
export class GuestTrap extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GuestTrap';
  }
}
