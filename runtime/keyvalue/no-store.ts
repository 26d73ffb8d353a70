/** Store calls where no store is reachable (configure, standalone hook runs): each is `unavailable`. */
import type { HostCalls } from '../component/types.ts';

type KvCalls = Pick<HostCalls, 'kvGet' | 'kvSet' | 'kvDelete' | 'kvIncrement' | 'kvCompareAndSwap'>;

export function noKeyValue(reason: string): KvCalls {
  const refuse = { ok: false as const, error: { tag: 'unavailable' as const, reason } };
  return {
    kvGet: async () => refuse,
    kvSet: async () => refuse,
    kvDelete: async () => refuse,
    kvIncrement: async () => refuse,
    kvCompareAndSwap: async () => refuse,
  };
}
