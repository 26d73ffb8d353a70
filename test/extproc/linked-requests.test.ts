/** The route-phase contexts upstream-phase streams find: bounded, time-limited, never shared by two requests. */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LinkedRequests } from '../../runtime/extproc/linked-requests.ts';
import { createRequestContext } from '../../runtime/pipeline/request-context.ts';
import { startTrace } from '../../runtime/subrequest/index.ts';

const ctx = (id: string, timeoutMs = 10_000) => createRequestContext({ id, route: 'r', timeoutMs, trace: startTrace(), depth: 0, logger: pino({ level: 'silent' }) });

describe('linked requests', () => {
  it('finds a context by id until its stream releases it', () => {
    const linked = new LinkedRequests(10);
    const a = ctx('a');
    const release = linked.register(a);
    expect(linked.lookup('a')).toEqual({ kind: 'found', ctx: a });
    release();
    release();
    expect(linked.lookup('a').kind).toBe('none');
    expect(linked.size).toBe(0);
  });

  it('an id two live streams share links neither, until both are gone', () => {
    const linked = new LinkedRequests(10);
    const r1 = linked.register(ctx('same'));
    const r2 = linked.register(ctx('same'));
    expect(linked.lookup('same').kind).toBe('ambiguous');
    r1();
    expect(linked.lookup('same').kind).toBe('ambiguous');
    r2();
    expect(linked.lookup('same').kind).toBe('none');
  });

  it('is bounded: the oldest goes to make room, and its late release drops nothing else', () => {
    const linked = new LinkedRequests(2);
    const releaseA = linked.register(ctx('a'));
    linked.register(ctx('b'));
    linked.register(ctx('c'));
    expect(linked.size).toBe(2);
    expect(linked.lookup('a').kind).toBe('none');
    const a2 = ctx('a');
    linked.register(a2);
    releaseA();
    expect(linked.lookup('a')).toEqual({ kind: 'found', ctx: a2 });
  });

  it('is not answered past the request\'s deadline', () => {
    const linked = new LinkedRequests(10);
    const c = ctx('late', 50);
    linked.register(c);
    expect(linked.lookup('late', c.deadline - 1).kind).toBe('found');
    expect(linked.lookup('late', c.deadline).kind).toBe('expired');
  });
});
