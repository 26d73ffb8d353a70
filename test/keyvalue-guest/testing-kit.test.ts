/**
 * The plugin test kit's store (praxis-wasm/testing): seeded before the first run, shared by the
 * runs of one loaded filter (as requests share a gateway's), read back after each, and a seed the
 * plugin's bounds refuse is an error naming the entry.
 */
import { describe, expect, it } from 'vitest';
import { loadFilter, runFilter } from '../../runtime/testing/index.ts';
import { fixturePath } from '../helpers/servers.ts';

const KIT = fixturePath('testkit');
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const kv = (script: string) => ({ request: { headers: { 'x-kv': script } } });

describe('the test kit\'s key-value store', () => {
  it('seeds, counts across runs of one filter, and shows the store after each run', async () => {
    await using filter = await loadFilter(KIT, {
      config: { kvHeader: 'x-kv' },
      keyvalue: { seed: { '': { hits: '1' }, quotas: { alice: new Uint8Array([0x31, 0x30]) } } },
    });
    const first = await filter.run(kv('incr,,hits,1;get,quotas,alice'));
    expect(first.request.headers).toContainEqual(['x-kv-result', '2;some:10']);
    const second = await filter.run(kv('incr,,hits,1;set,,new,x'));
    expect(second.request.headers).toContainEqual(['x-kv-result', '3;ok']);
    expect(text(second.keyvalue['']!.hits)).toBe('3');
    expect(text(second.keyvalue['']!.new)).toBe('x');
    expect(text(second.keyvalue.quotas!.alice)).toBe('10');
    expect(Object.keys(await filter.keyvalue())).toEqual(['', 'quotas']);
  });

  it('each loaded filter has its own store; runFilter starts empty', async () => {
    const r = await runFilter(KIT, { config: { kvHeader: 'x-kv' }, ...kv('get,,hits') });
    expect(r.request.headers).toContainEqual(['x-kv-result', 'none']);
    expect(r.keyvalue).toEqual({});
  });

  it('a seed the plugin\'s bounds refuse fails the load, naming the entry', async () => {
    await expect(loadFilter(KIT, { keyvalue: { seed: { '': { k: 'too long a value' } }, limits: { maxValueBytes: 4 } } }))
      .rejects.toThrow(/keyvalue\.seed\[""\]\["k"\]: limit: /);
  });
});
