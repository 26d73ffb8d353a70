/**
 * The fast binding's `clock` imports (praxis:filter@0.2.0): `func() -> u64` lowers to a core
 * function returning i64, so each is a plain synchronous call returning a BigInt (no JSPI
 * suspension, no memory touched). Each call is charged fuel like a context call: uncharged, a
 * loop of clock reads would run past the hook's CPU budget unseen (host-fuel.ts).
 */
import { CLOCK_FUEL } from './host-fuel.ts';
import { clockU64 } from './host-clock.ts';
import type { HostCalls } from './types.ts';

export const CLOCK_FUNCS = ['now-ms', 'monotonic-ms'];

export function clockImports(host: () => HostCalls, charge: (units: number) => void): WebAssembly.ModuleImports {
  return {
    'now-ms': (): bigint => {
      charge(CLOCK_FUEL);
      return clockU64(host().clockNowMs());
    },
    'monotonic-ms': (): bigint => {
      charge(CLOCK_FUEL);
      return clockU64(host().clockMonotonicMs());
    },
  };
}
