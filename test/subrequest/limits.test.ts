import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerResponse } from 'node:http';
import { get, makeBridge, makeParent, policy, startServer, text, until, type TestServer } from './helpers.ts';

const MiB = 1024 * 1024;

describe('response body ceiling', () => {
  let firehose: TestServer;
  let written = 0;
  let closedEarly = 0;
  beforeAll(async () => {
    // Streams 100 MiB without a content-length, honouring backpressure so the server itself
    // holds little; stops when the client goes away.
    firehose = await startServer((req, res) => {
      const chunk = Buffer.alloc(64 * 1024, 120);
      const total = 100 * MiB;
      let sent = 0;
      let done = false;
      res.on('close', () => {
        if (!res.writableFinished) closedEarly++;
        done = true;
      });
      const pump = (): void => {
        while (!done && sent < total) {
          sent += chunk.length;
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!done) res.end();
      };
      if (req.url === '/declared') res.setHeader('content-length', String(total));
      pump();
    });
  });
  afterAll(() => firehose.close());

  it('a 100 MiB body is cut at the ceiling: too-large, quickly, without the memory', async () => {
    const { bridge } = makeBridge({ maxResponseBytes: 1 * MiB });
    globalThis.gc?.();
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const res = await bridge.send(makeParent(), policy([firehose.host]), get(firehose.url('/stream')));
    const ms = performance.now() - t0;
    const grown = process.memoryUsage().rss - rss0;
    await bridge.close();
    expect(res).toEqual({ ok: false, error: { tag: 'too-large' } });
    expect(ms).toBeLessThan(1000);
    expect(grown).toBeLessThan(40 * MiB);
    await until(() => closedEarly >= 1);
    expect(written).toBeLessThan(30 * MiB); // the callee was stopped, not drained
  });

  it("the plugin's ceiling applies, and a declared content-length over it fails before reading", async () => {
    const { bridge } = makeBridge();
    const t0 = performance.now();
    const res = await bridge.send(makeParent(), policy([firehose.host], { maxResponseBytes: 256 * 1024 }), get(firehose.url('/declared')));
    await bridge.close();
    expect(res).toEqual({ ok: false, error: { tag: 'too-large' } });
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('a HEAD response declaring a large length is not too-large (no body comes)', async () => {
    const { bridge } = makeBridge({ maxResponseBytes: 1024 });
    const res = await bridge.send(makeParent(), policy([firehose.host]), get(firehose.url('/declared'), { method: 'HEAD' }));
    await bridge.close();
    expect(res.ok && res.value.status).toBe(200);
    expect(res.ok && res.value.body.byteLength).toBe(0);
  });

  it('a body exactly at the ceiling is handed back', async () => {
    const srv = await startServer((_req, res) => res.end(Buffer.alloc(1000, 97)));
    const { bridge } = makeBridge({ maxResponseBytes: 1000 });
    const res = await bridge.send(makeParent(), policy([srv.host]), get(srv.url()));
    const over = await bridge.send(makeParent(), policy([srv.host], { maxResponseBytes: 999 }), get(srv.url()));
    await bridge.close();
    await srv.close();
    expect(res.ok && res.value.body.byteLength).toBe(1000);
    expect(over).toEqual({ ok: false, error: { tag: 'too-large' } });
  });
});

describe('request body ceiling', () => {
  it('a request body over maxRequestBytes is too-large without connecting', async () => {
    const srv = await startServer((_req, res) => res.end('ok'));
    const { bridge } = makeBridge({ maxRequestBytes: 1024 });
    const p = policy([srv.host]);
    const over = await bridge.send(makeParent(), p, { method: 'POST', url: srv.url(), headers: [], body: new Uint8Array(1025) });
    expect(over).toEqual({ ok: false, error: { tag: 'too-large' } });
    expect(srv.connections).toBe(0);
    const fits = await bridge.send(makeParent(), p, { method: 'POST', url: srv.url(), headers: [], body: new Uint8Array(1024) });
    await bridge.close();
    await srv.close();
    expect(fits.ok).toBe(true);
  });
});

describe('in-flight caps', () => {
  let held: ServerResponse[] = [];
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer((_req, res) => {
      held.push(res);
    });
  });
  afterAll(() => srv.close());
  const releaseAll = (): void => {
    for (const r of held) r.end('done');
    held = [];
  };

  it('global cap: overloaded at once when full, saturated() reports it, no queue', async () => {
    const { bridge } = makeBridge({ maxInFlight: 2 });
    const p = policy([srv.host]);
    const first = [bridge.send(makeParent(), p, get(srv.url('/1'))), bridge.send(makeParent(), p, get(srv.url('/2')))];
    await until(() => held.length === 2);
    expect(bridge.saturated()).toBe(true);
    expect(bridge.inFlight()).toBe(2);
    const t0 = performance.now();
    const third = await bridge.send(makeParent(), policy([srv.host], { plugin: 'other' }), get(srv.url('/3')));
    expect(performance.now() - t0).toBeLessThan(50);
    expect(third).toEqual({ ok: false, error: { tag: 'overloaded' } });
    expect(srv.requests).toBe(2);
    releaseAll();
    const done = await Promise.all(first);
    expect(done.every((r) => r.ok)).toBe(true);
    expect(bridge.saturated()).toBe(false);
    expect(bridge.inFlight()).toBe(0);
    const again = await (async () => {
      const pending = bridge.send(makeParent(), p, get(srv.url('/4')));
      await until(() => held.length === 1);
      releaseAll();
      return pending;
    })();
    expect(again.ok).toBe(true);
    await bridge.close();
  });

  it('per-plugin cap: the plugin gets overloaded, another plugin still goes through', async () => {
    const { bridge } = makeBridge({ maxInFlight: 100 });
    const before = srv.requests;
    const a1 = bridge.send(makeParent(), policy([srv.host], { plugin: 'a', maxInFlight: 1 }), get(srv.url('/a1')));
    await until(() => held.length === 1);
    const a2 = await bridge.send(makeParent(), policy([srv.host], { plugin: 'a', maxInFlight: 1 }), get(srv.url('/a2')));
    expect(a2).toEqual({ ok: false, error: { tag: 'overloaded' } });
    expect(bridge.saturated()).toBe(false);
    const b1 = bridge.send(makeParent(), policy([srv.host], { plugin: 'b', maxInFlight: 1 }), get(srv.url('/b1')));
    await until(() => held.length === 2);
    expect(srv.requests - before).toBe(2);
    releaseAll();
    const [ra, rb] = await Promise.all([a1, b1]);
    expect(ra.ok && text(ra.value.body)).toBe('done');
    expect(rb.ok).toBe(true);
    await bridge.close();
  });
});
