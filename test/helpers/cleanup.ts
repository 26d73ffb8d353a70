import { afterEach } from 'vitest';

/**
 * Returns `track(x)`: whatever a test tracks is closed after that test, newest first, even
 * when the test failed half-way. Call once at the top of a test file.
 */
export function useCleanup(): <T extends { close(): Promise<void> }>(x: T) => T {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => {});
  });
  return (x) => {
    cleanups.push(() => x.close());
    return x;
  };
}
