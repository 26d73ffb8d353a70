import { describe, expect, it } from 'vitest';
import { benchSubrequest } from '../../bench/subrequest.ts';

describe('benchSubrequest', () => {
  it('measures direct and bridged latency', async () => {
    const r = await benchSubrequest({ iterations: 50 });
    for (const side of [r.direct, r.bridge]) {
      expect(side.p50_us).toBeGreaterThan(0);
      expect(side.p99_us).toBeGreaterThanOrEqual(side.p50_us);
    }
  });
});
