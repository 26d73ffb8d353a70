/**
 * filter-info's `header-hooks`: a header hook the filter did not declare is never called. Without
 * request-headers the filter still counts as passed (its response hooks run); without
 * response-headers it is skipped on the response path. Seen through the gateway.
 */
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEchoUpstream, startTestGateway, type TestGateway, type TestServer } from '../helpers/servers.ts';
import { guestLines, oneRoute, testkit } from './helpers.ts';

let echo: TestServer;
let gw: TestGateway | undefined;

beforeAll(async () => { echo = await startEchoUpstream(); });
afterAll(async () => { await echo.close(); });
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  echo.seen.length = 0;
});

const hookLines = (g: TestGateway): string[] => guestLines(g.logs, 'hook ').map((l) => l.msg as string);

describe('header hooks', () => {
  it('calls only the declared header hooks, in chain order and reverse', async () => {
    gw = await startTestGateway(oneRoute({
      a: testkit({ name: 'a', order: true, logHooks: true }),
      req: testkit({ name: 'req', order: true, logHooks: true, headerHooks: ['request-headers'] }),
      resp: testkit({ name: 'resp', order: true, logHooks: true, headerHooks: ['response-headers'] }),
    }, ['a', 'req', 'resp'], { main: echo.url }));

    const r = await request(`${gw.url}/x`);
    await r.body.text();
    expect(r.statusCode).toBe(200);
    // resp's request hook is not called; req's response hook is not called.
    expect(echo.seen[0]!.headers['x-order']).toBe('a,req');
    expect(r.headers['x-order']).toBe('resp,a');
    expect(hookLines(gw)).toEqual([
      'hook on-request-headers a',
      'hook on-request-headers req',
      'hook on-response-headers resp',
      'hook on-response-headers a',
    ]);
  });

  it('defaults to both hooks; an explicit list of both is the same', async () => {
    gw = await startTestGateway(oneRoute({
      d: testkit({ name: 'd', order: true }),
      e: testkit({ name: 'e', order: true, headerHooks: ['request-headers', 'response-headers'] }),
    }, ['d', 'e'], { main: echo.url }));
    const r = await request(`${gw.url}/x`);
    await r.body.text();
    expect(echo.seen[0]!.headers['x-order']).toBe('d,e');
    expect(r.headers['x-order']).toBe('e,d');
  });

  it('a filter without request-headers still counts as passed: its response hook runs on a later rejection', async () => {
    gw = await startTestGateway(oneRoute({
      late: testkit({ name: 'late', order: true, logHooks: true, headerHooks: ['response-headers'] }),
      no: testkit({ name: 'no', rejectStatus: 418, rejectBody: 'no tea here' }),
    }, ['late', 'no'], { main: echo.url }));
    const r = await request(`${gw.url}/x`);
    expect(r.statusCode).toBe(418);
    expect(await r.body.text()).toBe('no tea here');
    expect(r.headers['x-order']).toBe('late');
    expect(echo.seen).toHaveLength(0);
    expect(hookLines(gw)).toEqual(['hook on-response-headers late']);
  });

  it('a body-only filter (no header hooks) still gets its body hook, and none of its header hooks', async () => {
    gw = await startTestGateway(oneRoute({
      u: testkit({
        name: 'u', headerHooks: [], logHooks: true, requestBody: 'buffer:4096', upperCaseBody: 'request',
        setRequestHeader: ['x-set', 'u'], setResponseHeader: ['x-resp', 'u'],
      }),
    }, ['u'], { main: echo.url }));
    const r = await request(`${gw.url}/up`, { method: 'POST', body: 'hello body' });
    expect(r.statusCode).toBe(200);
    await r.body.text();
    expect(echo.seen[0]!.body).toBe('HELLO BODY');
    expect(echo.seen[0]!.headers['x-set']).toBeUndefined();
    expect(r.headers['x-resp']).toBeUndefined();
    expect(hookLines(gw)).toEqual([]);
  });

  it('a rejection is still possible from a filter that declares request-headers only', async () => {
    gw = await startTestGateway(oneRoute({
      outer: testkit({ name: 'outer', order: true, headerHooks: ['request-headers'] }),
      gate: testkit({ name: 'gate', rejectIfHeader: 'x-block', headerHooks: ['request-headers'] }),
    }, ['outer', 'gate'], { main: echo.url }));
    const blocked = await request(`${gw.url}/x`, { headers: { 'x-block': '1' } });
    expect(blocked.statusCode).toBe(403);
    expect(await blocked.body.text()).toBe('rejected by gate');
    expect(blocked.headers['x-order']).toBeUndefined(); // outer has no response hook
    const ok = await request(`${gw.url}/x`);
    await ok.body.text();
    expect(ok.statusCode).toBe(200);
    expect(echo.seen[0]!.headers['x-order']).toBe('outer');
  });
});
