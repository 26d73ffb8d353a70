/** The demo's admin port: Envoy's customary 9901 when it is free, any free port otherwise. */
import { createServer } from 'node:net';

export const DEMO_ADMIN_PORT = 9901;

/** Resolves `preferred` if a listener can take it on `host` right now, else 0 (the OS picks). */
export function demoAdminPort(host = '127.0.0.1', preferred = DEMO_ADMIN_PORT): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(0));
    probe.listen(preferred, host, () => probe.close(() => resolve(preferred)));
  });
}
