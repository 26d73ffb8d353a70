import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, makeBridge, makeParent, policy, startServer, text, type TestServer } from './helpers.ts';

describe('redirects', () => {
  let srv: TestServer;
  let target: TestServer;
  let outside: TestServer;
  const seen: Array<{ method: string; url: string; body: string; auth?: string }> = [];
  beforeAll(async () => {
    target = await startServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: `target${req.url ?? ''}`, body, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
        res.end(`target:${req.method}:${body}`);
      });
    });
    outside = await startServer((_req, res) => res.end('outside'));
    srv = await startServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'http://x');
        seen.push({ method: req.method ?? '', url: req.url ?? '', body });
        const to = u.searchParams.get('to');
        const code = Number(u.searchParams.get('code') ?? '302');
        const delay = Number(u.searchParams.get('delay') ?? '0');
        if (u.pathname === '/loop') {
          res.writeHead(302, { location: '/loop' }).end();
        } else if (u.pathname === '/redirect' && to !== null) {
          setTimeout(() => res.writeHead(code, { location: to }).end('moved'), delay);
        } else if (u.pathname === '/slow') {
          setTimeout(() => res.end('slow'), delay);
        } else {
          res.end(`final:${req.method}:${body}`);
        }
      });
    });
  });
  afterAll(async () => {
    await srv.close();
    await target.close();
    await outside.close();
  });

  const redirectTo = (to: string, code = 302, delay = 0): string =>
    srv.url(`/redirect?code=${code}&delay=${delay}&to=${encodeURIComponent(to)}`);

  it('follows a redirect to an allowed target', async () => {
    const { bridge } = makeBridge();
    const res = await bridge.send(makeParent(), policy([srv.host, target.host]), get(redirectTo(target.url('/t'))));
    await bridge.close();
    expect(res.ok && text(res.value.body)).toBe('target:GET:');
    expect(res.ok && res.value.status).toBe(200);
  });

  it('a redirect to a host not allowed is denied, naming it, and the target is never contacted', async () => {
    const { bridge } = makeBridge();
    const res = await bridge.send(makeParent(), policy([srv.host]), get(redirectTo(outside.url('/x'))));
    const creds = await bridge.send(makeParent(), policy([srv.host, '127.0.0.1:*']), get(redirectTo(`http://u:p@127.0.0.1:${outside.port}/`)));
    await bridge.close();
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.error.tag).toBe('denied');
      expect(res.error.tag === 'denied' && res.error.reason).toContain(`127.0.0.1:${outside.port}`);
    }
    expect(creds.ok === false && creds.error.tag).toBe('denied');
    expect(outside.connections).toBe(0);
  });

  it('303 turns POST into a body-less GET; 307 keeps method and body', async () => {
    const { bridge } = makeBridge();
    const p = policy([srv.host, target.host]);
    const body = new TextEncoder().encode('payload');
    seen.length = 0;
    const r303 = await bridge.send(makeParent(), p, { method: 'POST', url: redirectTo(target.url('/a'), 303), headers: [['content-type', 'text/plain']], body });
    expect(r303.ok && text(r303.value.body)).toBe('target:GET:');
    const r307 = await bridge.send(makeParent(), p, { method: 'POST', url: redirectTo(target.url('/b'), 307), headers: [], body });
    expect(r307.ok && text(r307.value.body)).toBe('target:POST:payload');
    const r308 = await bridge.send(makeParent(), p, { method: 'PUT', url: redirectTo(target.url('/c'), 308), headers: [], body });
    expect(r308.ok && text(r308.value.body)).toBe('target:PUT:payload');
    await bridge.close();
  });

  it('credentials do not follow a redirect to another origin', async () => {
    const { bridge } = makeBridge();
    seen.length = 0;
    const res = await bridge.send(makeParent(), policy([srv.host, target.host]), get(redirectTo(target.url('/auth')), { headers: [['authorization', 'Bearer s3cret']] }));
    await bridge.close();
    expect(res.ok).toBe(true);
    expect(seen.find((s) => s.url === 'target/auth')?.auth).toBeUndefined();
  });

  it('stops after maxRedirects', async () => {
    const { bridge } = makeBridge({ maxRedirects: 2 });
    const before = srv.requests;
    const res = await bridge.send(makeParent(), policy([srv.host]), get(srv.url('/loop')));
    await bridge.close();
    expect(res).toEqual({ ok: false, error: { tag: 'protocol', reason: 'too many redirects (max 2)' } });
    expect(srv.requests - before).toBe(3);
  });

  it('maxRedirects 0 hands the 3xx back', async () => {
    const { bridge } = makeBridge({ maxRedirects: 0 });
    const res = await bridge.send(makeParent(), policy([srv.host, target.host]), get(redirectTo(target.url('/t'))));
    await bridge.close();
    expect(res.ok && res.value.status).toBe(302);
    expect(res.ok && res.value.headers).toContainEqual(['location', target.url('/t')]);
  });

  it('every hop runs under the same timeout', async () => {
    const { bridge } = makeBridge();
    const t0 = performance.now();
    const res = await bridge.send(makeParent(), policy([srv.host]), get(redirectTo('/slow?delay=200', 302, 200), { timeoutMs: 300 }));
    const ms = performance.now() - t0;
    await bridge.close();
    expect(res).toEqual({ ok: false, error: { tag: 'timeout' } });
    expect(ms).toBeLessThan(380);
  });
});
