/** The admin endpoints of one gateway: readiness through start-up, steady state and drain; /config; /plugins. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startGateway } from '../../runtime/gateway/gateway.ts';
import { type TestGateway, ROOT, fixturePath, startEchoUpstream, startServer, startTestGateway, type TestServer } from '../helpers/servers.ts';
import { oneRoute, testkit, until } from '../gateway/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'praxis-admin-'));
const gateways: Array<{ close(): Promise<void> }> = [];
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await request(url);
  return { status: res.statusCode, text: await res.body.text() };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function refused(url: string): Promise<boolean> {
  try {
    await request(url, { headersTimeout: 1000 });
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

async function gatewayWithAdmin(config: Parameters<typeof startTestGateway>[0]): Promise<TestGateway & { adminUrl: string }> {
  const gw = await startTestGateway({ ...config, admin: { host: '127.0.0.1', port: 0 } });
  gateways.push(gw);
  return gw as TestGateway & { adminUrl: string };
}

describe('/readyz', () => {
  it('is 503 while a plugin is still loading and the gateway not listening, 200 once listening with warm pools', async () => {
    const upstream = await startEchoUpstream();
    servers.push(upstream);
    // A named pipe as the plugin file: the load waits, deterministically, until the test writes it.
    const fifo = join(dir, 'slow.wasm');
    execFileSync('mkfifo', [fifo]);
    const port = await freePort();
    const adminPort = await freePort();
    const config = oneRoute({ k: testkit({ name: 'k' }, { path: fifo, pool: { min: 3, max: 4 } }) }, ['k'], { up: upstream.url });
    const starting = startGateway({ ...config, listen: { host: '127.0.0.1', port }, admin: { host: '127.0.0.1', port: adminPort } }, { logger: pino({ level: 'silent' }), cacheDir: `${ROOT}.praxis-cache` });
    // Whatever fails below, the load gets its bytes and the gateway is closed (no thread left blocked on the pipe).
    let fed = false;
    const feed = async () => {
      if (fed) return;
      fed = true;
      copyFileSync(fixturePath('testkit'), `${fifo}.file`);
      await writeFile(fifo, readFileSync(fixturePath('testkit')));
      renameSync(`${fifo}.file`, fifo);
    };
    gateways.push({ close: async () => { await feed(); await (await starting).close(); } });
    const admin = `http://127.0.0.1:${adminPort}`;
    let early: { status: number; text: string } | undefined;
    const end = Date.now() + 10_000;
    while (!early && Date.now() < end) early = await get(`${admin}/readyz`).catch(() => undefined);
    expect(early?.status).toBe(503);
    expect(early?.text).toMatch(/starting/);
    expect((await get(`${admin}/healthz`)).status).toBe(200);
    expect(await refused(`http://127.0.0.1:${port}/`)).toBe(true);

    // The load reads the pipe; the pin check after compiling reads the path again: by then a plain file.
    await feed();
    const gw = await starting;
    let ready = await get(`${admin}/readyz`);
    for (let i = 0; i < 200 && ready.status !== 200; i++) ready = await get(`${admin}/readyz`);
    expect(ready).toEqual({ status: 200, text: 'ready\n' });
    // Ready implies: the listener answers and every pool holds its minimum.
    const stats = gw.poolStats()[0]!;
    expect(stats.size).toBeGreaterThanOrEqual(3);
    expect((await request(`${gw.url}/x`)).statusCode).toBe(200);
  });

  it('stays 200 in steady state, turns 503 while draining on close, and /healthz stays 200 until the end', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const upstream = await startServer(async (_req, res) => {
      await held;
      res.end('late');
    });
    servers.push(upstream);
    const gw = await gatewayWithAdmin(oneRoute({ k: testkit({ name: 'k' }) }, ['k'], { up: upstream.url }));
    expect((await get(`${gw.adminUrl}/readyz`)).status).toBe(200);
    const slow = request(`${gw.url}/slow`).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
    await until(() => gw.exchangesInFlight() === 1, 'the slow request to be in flight');
    const closing = gw.close();
    const draining = await get(`${gw.adminUrl}/readyz`);
    expect(draining.status).toBe(503);
    expect(draining.text).toMatch(/draining/);
    expect((await get(`${gw.adminUrl}/healthz`)).status).toBe(200);
    release();
    expect(await slow).toEqual({ status: 200, body: 'late' });
    await closing;
    expect(await refused(`${gw.adminUrl}/healthz`)).toBe(true);
  });
});

describe('/config', () => {
  it('shows the effective config with secret-looking plugin values, credential headers and URL passwords redacted', async () => {
    const upstream = await startEchoUpstream();
    servers.push(upstream);
    const secrets: string[] = ['sk-live-123', 'hunter2', 'Bearer abc.def', 'tok-777', 'route-auth-xyz', 'pw-in-url', 'cred-9'];
    const config = oneRoute({
      k: testkit({
        name: 'k', apiKey: secrets[0], nested: { password: secrets[1], keep: 'visible-value' },
        forward: secrets[2], headers: [{ name: 'x-auth-token', value: secrets[3] }, { name: 'x-tenant', value: 'tenant-a' }],
        service: `https://svc:${secrets[5]}@classifier.internal/v1`, credentials: { id: secrets[6] },
      }),
    }, ['k'], { up: upstream.url }, { match: { pathPrefix: '/', headers: { authorization: secrets[4]!, 'x-team': 'blue' } } });
    const gw = await gatewayWithAdmin(config);
    const res = await request(`${gw.adminUrl}/config`);
    expect(res.headers['content-type']).toBe('application/json');
    const text = await res.body.text();
    for (const s of secrets) expect(text).not.toContain(s);
    const shown = JSON.parse(text) as { listen: { port: number }; plugins: { k: { path: string; config: Record<string, unknown> } }; routes: Array<{ match: { headers: Record<string, string> } }> };
    expect(shown.listen.port).toBe(gw.port);
    const c = shown.plugins.k.config;
    expect(c.apiKey).toBe('[redacted]');
    expect(c.nested).toEqual({ password: '[redacted]', keep: 'visible-value' });
    expect(c.forward).toBe('[redacted]');
    expect(c.headers).toEqual([{ name: 'x-auth-token', value: '[redacted]' }, { name: 'x-tenant', value: 'tenant-a' }]);
    expect(c.service).toBe('https://svc:[redacted]@classifier.internal/v1');
    expect(c.credentials).toBe('[redacted]');
    expect(shown.plugins.k.path).toBe(fixturePath('testkit'));
    expect(shown.routes[0]!.match.headers).toEqual({ authorization: '[redacted]', 'x-team': 'blue' });
  });
});

describe('/plugins', () => {
  it('lists each plugin with its path, sha256, binding, hooks, pool stats and ejection state', async () => {
    const upstream = await startEchoUpstream();
    servers.push(upstream);
    const gw = await gatewayWithAdmin(oneRoute({
      k: testkit({ name: 'k', trapIfHeader: 'x-trap' }, { pool: { min: 2, max: 5 }, ejection: { failures: 2, windowMs: 60_000, baseMs: 60_000 } }),
      other: testkit({ name: 'other', requestBody: 'stream' }),
    }, ['k', 'other'], { up: upstream.url }));
    for (let i = 0; i < 2; i++) await (await request(`${gw.url}/t`, { headers: { 'x-trap': '1' } })).body.dump();
    const res = await request(`${gw.adminUrl}/plugins`);
    const plugins = await res.body.json() as Array<Record<string, unknown> & { pool: Record<string, number>; ejection: { ejected: boolean; ejections: number } }>;
    expect(plugins.map((p) => p.name)).toEqual(['k', 'other']);
    const [k] = plugins;
    expect(k).toMatchObject({
      path: fixturePath('testkit'),
      sha256: createHash('sha256').update(readFileSync(fixturePath('testkit'))).digest('hex'),
      binding: 'fast', failure: 'closed',
      pool: { min: 2, max: 5 },
      ejection: { ejected: true, ejections: 1 },
    });
    expect(k!.pool.size).toBeGreaterThanOrEqual(1);
    expect(plugins[1]!.ejection.ejected).toBe(false);
  });

  it('answers 404 with the list of endpoints elsewhere, and 405 to anything but GET', async () => {
    const upstream = await startEchoUpstream();
    servers.push(upstream);
    const gw = await gatewayWithAdmin(oneRoute({}, [], { up: upstream.url }));
    const missing = await get(`${gw.adminUrl}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('/readyz');
    expect((await request(`${gw.adminUrl}/readyz`, { method: 'POST' })).statusCode).toBe(405);
    expect(await (await request(`${gw.adminUrl}/plugins`)).body.json()).toEqual([]);
  });
});
