/** One line for a listener that could not start, instead of Node's stack trace. */

/** `err` as one line naming the address and the reason; undefined when it is not a listen failure. */
export function listenProblem(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e?.syscall !== 'listen') return undefined;
  const where = e.port !== undefined ? `${e.address ?? ''}:${e.port}` : (e.address ?? 'the address');
  if (e.code === 'EADDRINUSE') return `${where} is already in use (pick another port with --port)`;
  if (e.code === 'EACCES') return `${where}: permission denied (ports below 1024 need privileges)`;
  if (e.code === 'EADDRNOTAVAIL') return `${where}: no such address on this machine`;
  return `${where}: ${e.code ?? e.message}`;
}
