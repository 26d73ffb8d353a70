/** The hostile-component helper itself: the baseline it builds is a well-behaved filter. */
import { describe, expect, it } from 'vitest';
import { loadComponent } from '../../runtime/component/loader.ts';
import { IMPORTS, hostileComponent, INFO, quietHost } from '../helpers/hostile.ts';

const logs: string[] = [];
const host = quietHost(logs);
const info = INFO;

describe('hostile helper baseline', () => {
  it('loads on the fast path, configures, and answers continue', async () => {
    const bytes = await hostileComponent({
      imports: IMPORTS.log,
      requestHeaders: '(call $log (i32.const 1) (i32.const 64) (i32.const 7))',
    });
    const loaded = await loadComponent(bytes);
    expect(loaded.factory.binding).toBe('fast');
    const inst = await loaded.factory.instantiate();
    const cfg = await inst.configure(host, '{}');
    expect(cfg).toMatchObject({ ok: true, value: { name: 'hostile', headerHooks: { requestHeaders: true, responseHeaders: true } } });
    const action = await inst.onRequestHeaders(host, info, { method: 'GET', path: '/', authority: 'a', headers: [['a', 'b']] });
    expect(action).toEqual({ tag: 'continue' });
    expect(logs).toEqual(['hostile']);
  });
});
