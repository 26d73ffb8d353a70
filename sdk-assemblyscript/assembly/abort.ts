// Replaces AssemblyScript's `env.abort` import (the build passes --use abort=...): a failed
// assertion, a bounds check or `throw` logs its message through the praxis log import at
// error level, then traps. The host sees a trap and discards the instance.
import { log } from "./host";

export function praxisAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let msg = "abort: " + (message !== null ? message : "(no message)");
  if (fileName !== null) msg += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  log.error(msg);
  unreachable();
}
