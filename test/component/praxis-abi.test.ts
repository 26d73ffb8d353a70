/** liftConfigureResult over hand-written guest memory: the filter-info layout of docs/abi.md. */
import { describe, expect, it } from 'vitest';
import { GuestTrap } from '../../runtime/component/errors.ts';
import { GuestMemory } from '../../runtime/component/guest-memory.ts';
import { liftConfigureResult } from '../../runtime/component/praxis-abi.ts';

function configureResult(flags: number): GuestMemory {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const v = new DataView(memory.buffer);
  const bytes = new Uint8Array(memory.buffer);
  bytes.set(new TextEncoder().encode('f'), 200);
  // result<filter-info, string> @64 (32 bytes): tag 0; name @4; request-body @12; response-body @20; header-hooks @28.
  v.setUint8(64, 0);
  v.setUint32(68, 200, true);
  v.setUint32(72, 1, true);
  v.setUint8(76, 2);
  v.setUint32(80, 9, true);
  v.setUint8(84, 1);
  v.setUint8(92, flags);
  return new GuestMemory(memory, () => { throw new Error('no realloc'); });
}

describe('liftConfigureResult', () => {
  it('reads the header-hooks flags byte: bit 0 request-headers, bit 1 response-headers', () => {
    const cases: Array<[number, boolean, boolean]> = [[0, false, false], [1, true, false], [2, false, true], [3, true, true]];
    for (const [bits, requestHeaders, responseHeaders] of cases) {
      expect(liftConfigureResult(configureResult(bits), 64)).toEqual({
        ok: true,
        value: { name: 'f', requestBody: { tag: 'stream-buffer', maxBytes: 9 }, responseBody: { tag: 'stream' }, headerHooks: { requestHeaders, responseHeaders } },
      });
    }
  });

  it('traps on any other bit', () => {
    for (const bits of [4, 8, 0x80, 0xff]) expect(() => liftConfigureResult(configureResult(bits), 64)).toThrow(GuestTrap);
  });
});
