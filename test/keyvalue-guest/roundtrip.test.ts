/**
 * Every keyvalue call, its ok values and each kv-error case, from guests built by both SDKs
 * (testkit: AssemblyScript, kv-rust: Rust) on both bindings, through the plugin test kit's store
 * (the gateway's memory backend behind the plugin's view). Errors come back as values: the hook
 * answers, the instance is not broken.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFilter, type TestFilter } from '../../runtime/testing/index.ts';
import type { FilterTestOptions } from '../../runtime/testing/harness.ts';
import { fixturePath } from '../helpers/servers.ts';

const GUESTS = [
  { sdk: 'AssemblyScript', path: fixturePath('testkit'), config: { kvHeader: 'x-kv' } },
  { sdk: 'Rust', path: fixturePath('kv-rust'), config: {} },
] as const;
const BINDINGS = ['fast', 'jco'] as const;

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

for (const guest of GUESTS) {
  for (const binding of BINDINGS) {
    describe(`keyvalue from ${guest.sdk} on the ${binding} binding`, () => {
      const filters: TestFilter[] = [];
      const open = async (opts: FilterTestOptions = {}) => {
        const f = await loadFilter(guest.path, { config: guest.config, load: { binding }, ...opts });
        filters.push(f);
        return f;
      };
      /** Runs a kvHeader script; answers the outcomes, one per call. */
      const script = async (f: TestFilter, s: string) => {
        const r = await f.run({ request: { headers: { 'x-kv': s } } });
        expect(r.rejected).toBeUndefined();
        const h = r.request.headers.find(([n]) => n === 'x-kv-result');
        return { out: h?.[1].split(';'), view: r.keyvalue };
      };
      let kit: TestFilter;
      beforeAll(async () => {
        kit = await open({ keyvalue: { seed: { '': { word: 'hello', n: '40' }, shared: { k: 'v' } }, limits: { maxKeyBytes: 16, maxValueBytes: 8 } } });
        expect(kit.binding).toBe(binding);
      }, 120_000);
      afterAll(async () => {
        await Promise.all(filters.map((f) => f.close()));
      });

      it('ok values: get some/none, set, delete true/false, increment (negative too), compare-and-swap both ways', async () => {
        const { out, view } = await script(kit, [
          'get,,word', 'get,,absent', 'get,shared,k', 'set,,a,1', 'get,,a', 'incr,,n,2', 'incr,,n,-45', 'get,,n',
          'cas,,c,~,x', 'cas,,c,~,y', 'cas,,c,x,z', 'cas,,c,x,w', 'get,,c', 'del,,c', 'del,,c', 'incr,,fresh,7,60000',
          'set,,empty,', 'get,,empty', 'cas,,empty,,full', 'get,,empty',
        ].join(';'));
        expect(out).toEqual([
          'some:hello', 'none', 'some:v', 'ok', 'some:1', '42', '-3', 'some:-3',
          'true', 'false', 'true', 'false', 'some:z', 'true', 'false', '7',
          'ok', 'some:', 'true', 'some:full', // an empty value is a value, not none
        ]);
        expect(text(view['']!.a)).toBe('1');
        expect(text(view['']!.n)).toBe('-3');
        expect(view['']!.c).toBeUndefined();
        expect(text(view.shared!.k)).toBe('v');
      });

      it('64-bit counters survive the trip: past 2^53 and down to the signed minimum', async () => {
        const { out } = await script(kit, 'incr,,big,9007199254740993;incr,,big,1;incr,,low,-9223372036854775808;incr,,low,-1');
        expect(out!.slice(0, 3)).toEqual(['9007199254740993', '9007199254740994', '-9223372036854775808']);
        expect(out![3]).toMatch(/^err:invalid:.+/); // would overflow
      });

      it('error values: denied (ungranted namespace), limit (key, value), invalid (not an integer); the instance keeps working', async () => {
        const { out } = await script(kit, 'get,secret,k;set,,a-key-longer-than-16,v;set,,v,123456789;incr,,word,1;get,,word');
        expect(out![0]).toMatch(/^err:denied:.*secret/);
        expect(out![1]).toMatch(/^err:limit:.*key/);
        expect(out![2]).toMatch(/^err:limit:.*value/);
        expect(out![3]).toMatch(/^err:invalid:.+/);
        expect(out![4]).toBe('some:hello');
        // The same instance answers again: an error value is not a trap.
        expect((await script(kit, 'get,,word')).out).toEqual(['some:hello']);
      });

      it('unavailable: a store that is down answers every call with its reason', async () => {
        const down = await open({ keyvalue: { unavailable: 'backend down for this test' } });
        const { out } = await script(down, 'get,,k;set,,k,v;del,,k;incr,,k,1;cas,,k,~,v');
        expect(out).toEqual(Array.from({ length: 5 }, () => 'err:unavailable:backend down for this test'));
      });

      it('a TTL is honoured: the entry is gone once it expired', async () => {
        const f = await open();
        expect((await script(f, 'set,,short,x,1;set,,long,y,600000')).out).toEqual(['ok', 'ok']);
        await new Promise((r) => setTimeout(r, 50));
        expect((await script(f, 'get,,short;get,,long')).out).toEqual(['none', 'some:y']);
      });
    });
  }
}
