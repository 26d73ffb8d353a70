import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PATH_POLICY } from '../../runtime/gateway/paths.ts';
import { RouteTable } from '../../runtime/gateway/routes.ts';
import { type AdmissionGate, admit, requestIdentity } from '../../runtime/pipeline/admission.ts';

function gate(saturated = false): AdmissionGate {
  return {
    maxDepth: 2, bridge: { saturated: () => saturated }, paths: DEFAULT_PATH_POLICY, logger: pino({ level: 'silent' }),
    routes: new RouteTable([{ name: 'api', upstream: 'u', match: { pathPrefix: '/api' } }], DEFAULT_PATH_POLICY),
  };
}

describe('admission (both front doors)', () => {
  it('keeps a sane request id, replaces a hostile one, and counts a negative depth as 0', () => {
    expect(requestIdentity([['x-request-id', 'abc-1']])).toEqual({ id: 'abc-1', idIsNew: false, depth: 0 });
    const hostile = requestIdentity([['x-request-id', 'a b'], ['x-praxis-depth', '-5']]);
    expect(hostile.idIsNew).toBe(true);
    expect(hostile.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(hostile.depth).toBe(0);
    expect(requestIdentity([['x-praxis-depth', '3']]).depth).toBe(3);
  });

  it('refuses in one order: loop, saturation, malformed, path, route', () => {
    const deep = requestIdentity([['x-praxis-depth', '3']]);
    const id = requestIdentity([]);
    const all = { target: '/../x', headers: [], malformed: 'two hosts' };
    expect(admit(gate(true), { identity: deep, ...all })).toMatchObject({ kind: 'refused', status: 508, type: 'loop_detected', log: { depth: 3, maxDepth: 2 } });
    expect(admit(gate(true), { identity: id, ...all })).toMatchObject({ kind: 'refused', status: 429, type: 'overloaded' });
    expect(admit(gate(), { identity: id, ...all })).toMatchObject({ kind: 'refused', status: 400, log: { refused: 'two hosts' } });
    const badPath = admit(gate(), { identity: id, target: '/%00', headers: [] });
    expect(badPath).toMatchObject({ kind: 'refused', status: 400, type: 'bad_request' });
    expect(badPath.kind === 'refused' && badPath.path).toBe(undefined);
    expect(admit(gate(), { identity: id, target: '/other/./x?q=1', headers: [] }))
      .toEqual({ kind: 'refused', status: 404, type: 'no_route', log: { target: '/other/./x?q=1' }, path: '/other/x?q=1' });
  });

  it('admits on the normalised path, with a context for the route', () => {
    const identity = requestIdentity([['x-request-id', 'r-1']]);
    const a = admit(gate(), { identity, target: '/api//v1/../v2?x=1', headers: [['traceparent', `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`]] });
    if (a.kind !== 'admitted') throw new Error(`refused: ${JSON.stringify(a)}`);
    expect(a.route.name).toBe('api');
    expect(a.path).toBe('/api/v2?x=1');
    expect(a.ctx.id).toBe('r-1');
    expect(a.ctx.route).toBe('api');
    expect(a.ctx.trace.traceId).toBe('1'.repeat(32));
  });
});
