/** Backend selection and passive health as plain objects: groups, wrap-round, ejection, probes, back-off. */
import { describe, expect, it } from 'vitest';
import { BackendSet } from '../../runtime/gateway/backends.ts';
import { EndpointHealth, type HealthEvent } from '../../runtime/gateway/passive-health.ts';

const A = 'http://10.0.0.1:8000';
const B = 'http://10.0.0.2:8000';
const C = 'http://10.0.0.3:8000';

function set(health: EndpointHealth): BackendSet {
  return new BackendSet('u', {
    backends: [
      { name: 'second', endpoints: [C], priority: 1 },
      { name: 'first', endpoints: [A, B], priority: 0 },
    ],
  }, health);
}

describe('BackendSet', () => {
  it('starts at the lowest priority, moves to the next group on advance and wraps round', () => {
    const s = set(new EndpointHealth());
    const c = s.cursor(0);
    expect(s.choose(c, 0).backend.name).toBe('first');
    s.advance(c, 0);
    expect(s.choose(c, 0).endpoint.origin).toBe(C);
    s.advance(c, 0);
    const again = s.choose(c, 0);
    expect(again.backend.name).toBe('first');
  });

  it('spreads requests round-robin inside a group, and a retry in the same group takes the other endpoint', () => {
    const s = set(new EndpointHealth());
    const firsts = [0, 1, 2, 3].map(() => s.choose(s.cursor(0), 0).endpoint.origin);
    expect(firsts).toEqual([A, B, A, B]);
    const oneGroup = new BackendSet('u', { endpoints: [A, B] }, new EndpointHealth());
    const c = oneGroup.cursor(0);
    const first = oneGroup.choose(c, 0).endpoint.origin;
    oneGroup.advance(c, 0);
    expect(oneGroup.choose(c, 0).endpoint.origin).not.toBe(first);
  });

  it('passes over an ejected endpoint, and skips a group whose endpoints are all ejected', () => {
    const h = new EndpointHealth({ consecutiveFailures: 1, baseEjectionMs: 1000 });
    const s = set(h);
    h.failure(A, 0);
    expect([0, 1, 2].map(() => s.choose(s.cursor(10), 10).endpoint.origin)).toEqual([B, B, B]);
    h.failure(B, 0);
    expect(s.choose(s.cursor(10), 10).backend.name).toBe('second');
  });
});

describe('EndpointHealth', () => {
  it('ejects after consecutive failures only; a success in between starts the count again', () => {
    const h = new EndpointHealth({ consecutiveFailures: 3, baseEjectionMs: 100 });
    h.failure(A, 0);
    h.failure(A, 0);
    h.success(A);
    h.failure(A, 0);
    h.failure(A, 0);
    expect(h.ejected(A, 0)).toBe(false);
    h.failure(A, 0);
    expect(h.ejected(A, 0)).toBe(true);
  });

  it('lets one probe through after the back-off; a failed probe doubles it up to the maximum', () => {
    const events: HealthEvent[] = [];
    const h = new EndpointHealth({ consecutiveFailures: 1, baseEjectionMs: 100, maxEjectionMs: 250 }, (e) => events.push(e));
    h.failure(A, 0);
    expect(h.inService(A, 50)).toBe(false);
    expect(h.admit(A, 100)).toBe(true); // the probe
    expect(h.admit(A, 101)).toBe(false); // one at a time
    h.failure(A, 120);
    expect(h.inService(A, 300)).toBe(false); // 120 + 200
    expect(h.admit(A, 320)).toBe(true);
    h.failure(A, 330);
    expect(events.map((e) => e.backoffMs)).toEqual([100, 200, 250]);
    expect(h.admit(A, 580)).toBe(true);
    h.success(A);
    expect(h.inService(A, 581)).toBe(true);
    h.failure(A, 600);
    expect(events.at(-1)!.backoffMs).toBe(100); // forgotten after a successful probe
  });

  it('a probe whose outcome never comes is given up after one base back-off', () => {
    const h = new EndpointHealth({ consecutiveFailures: 1, baseEjectionMs: 100 });
    h.failure(A, 0);
    expect(h.admit(A, 100)).toBe(true);
    expect(h.admit(A, 150)).toBe(false);
    expect(h.admit(A, 201)).toBe(true);
  });

  it('does nothing when disabled', () => {
    const h = new EndpointHealth({ enabled: false, consecutiveFailures: 1 });
    h.failure(A, 0);
    expect(h.inService(A, 0)).toBe(true);
  });
});
