/**
 * mcp-router end to end: a real gateway in front of two toy MCP servers on loopback
 * (examples/mcp-servers.ts). Every call of a session lands on the server that created it; unknown
 * sessions get the spec's 404; DELETE ends the mapping; each assignment policy; a session service
 * instead of the store.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startMcpServer } from '../../examples/mcp-servers.ts';
import { loadConfigFile } from '../../runtime/config/load.ts';
import { useCleanup } from '../helpers/cleanup.ts';
import { ROOT, startServer, startTestGateway } from '../helpers/servers.ts';
import { end, initialize, mcpGateway, rpc, whoami } from './helpers.ts';

const track = useCleanup();

async function twoServers() {
  return [track(await startMcpServer('alpha')), track(await startMcpServer('beta'))] as const;
}

describe('mcp-router', () => {
  it('sticks every call of a session to the server that created it (round-robin assignment)', async () => {
    const [a, b] = await twoServers();
    const gw = track(await startTestGateway(mcpGateway([a, b])));
    const clients = [];
    for (let i = 0; i < 6; i++) clients.push(await initialize(gw.url));
    // round-robin: the new sessions alternate between the servers
    expect(clients.map((c) => c.server).sort()).toEqual(['alpha', 'alpha', 'alpha', 'beta', 'beta', 'beta']);
    // each client a few calls in a row (so no upstream rotation could line up by chance), then all at once
    for (const c of clients) {
      for (let i = 0; i < 2; i++) expect(await whoami(gw.url, c.session)).toBe(`${c.server} ${c.session}`);
    }
    const answers = await Promise.all(clients.map((c) => whoami(gw.url, c.session)));
    expect(answers).toEqual(clients.map((c) => `${c.server} ${c.session}`));
    // no server ever saw a session it did not create
    expect([...a.seen, ...b.seen].filter((s) => s.status !== 200)).toEqual([]);
    expect(a.seen.filter((s) => s.method === 'tools/call')).toHaveLength(9);
    expect(b.seen.filter((s) => s.method === 'tools/call')).toHaveLength(9);
  });

  it('an unknown session gets 404 from the gateway (the client re-initialises); no server is asked', async () => {
    const [a, b] = await twoServers();
    const gw = track(await startTestGateway(mcpGateway([a, b])));
    const r = await rpc(gw.url, 'tools/list', 'never-issued');
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
    expect(a.seen.length + b.seen.length).toBe(0);
    const bad = await rpc(gw.url, 'tools/list', 'has space');
    expect(bad.status).toBe(400);
  });

  it('DELETE ends the session at its server and removes the mapping', async () => {
    const [a, b] = await twoServers();
    const gw = track(await startTestGateway(mcpGateway([a, b])));
    const c = await initialize(gw.url);
    const owner = c.server === 'alpha' ? a : b;
    expect(await end(gw.url, c.session)).toBe(200);
    expect(owner.sessions.has(c.session)).toBe(false);
    const seen = a.seen.length + b.seen.length;
    expect(await whoami(gw.url, c.session)).toBe(404);
    expect(a.seen.length + b.seen.length).toBe(seen); // answered by the gateway
  });

  it('a server that no longer knows a session: its 404 passes through and the mapping goes', async () => {
    const [a, b] = await twoServers();
    const gw = track(await startTestGateway(mcpGateway([a, b])));
    const c = await initialize(gw.url);
    const owner = c.server === 'alpha' ? a : b;
    owner.sessions.delete(c.session); // e.g. the server restarted
    expect(await whoami(gw.url, c.session)).toBe(404);
    const seen = owner.seen.length;
    expect(await whoami(gw.url, c.session)).toBe(404);
    expect(owner.seen.length).toBe(seen);
  });

  it('least-sessions: new sessions go to the server holding fewer, counting ended ones out', async () => {
    const [a, b] = await twoServers();
    const gw = track(await startTestGateway(mcpGateway([a, b], { policy: 'least-sessions' })));
    const first = [];
    for (let i = 0; i < 4; i++) first.push(await initialize(gw.url));
    expect(first.map((c) => c.server).sort()).toEqual(['alpha', 'alpha', 'beta', 'beta']);
    for (const c of first.filter((x) => x.server === 'alpha')) expect(await end(gw.url, c.session)).toBe(200);
    const next = [await initialize(gw.url), await initialize(gw.url)];
    expect(next.map((c) => c.server)).toEqual(['alpha', 'alpha']);
  });

  it('hash: one value of the hashed header, one server', async () => {
    const [a, b] = await twoServers();
    const gw = track(await startTestGateway(mcpGateway([a, b], { policy: 'hash', hashHeader: 'x-tenant' })));
    for (const tenant of ['t1', 't2', 't3']) {
      const picks = new Set<string>();
      for (let i = 0; i < 3; i++) picks.add((await initialize(gw.url, { 'x-tenant': tenant })).server);
      expect(picks.size).toBe(1);
    }
  });

  it('a session service instead of the store: looked up, recorded and ended by sub-requests', async () => {
    const [a, b] = await twoServers();
    const table = new Map<string, string>();
    const service = track(await startServer((req, res, body) => {
      const id = decodeURIComponent((req.url ?? '').replace(/^\/sessions\//, ''));
      if (req.method === 'GET') {
        const server = table.get(id);
        res.writeHead(server ? 200 : 404, { 'content-type': 'application/json' }).end(server ? JSON.stringify({ server }) : '{}');
      } else if (req.method === 'PUT') {
        table.set(id, (JSON.parse(body) as { server: string }).server);
        res.writeHead(204).end();
      } else {
        res.writeHead(table.delete(id) ? 204 : 404).end();
      }
    }));
    const gw = track(await startTestGateway(mcpGateway([a, b], { sessionService: service.url }, undefined, [`127.0.0.1:${service.port}`])));
    const clients = [await initialize(gw.url), await initialize(gw.url)];
    expect([...table.values()].sort()).toEqual([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`].sort());
    for (const c of clients) expect(await whoami(gw.url, c.session)).toBe(`${c.server} ${c.session}`);
    expect(await end(gw.url, clients[0]!.session)).toBe(200);
    expect(table.has(clients[0]!.session)).toBe(false);
    expect(await whoami(gw.url, clients[0]!.session)).toBe(404);
  });
});

describe('mcp-router config', () => {
  it('refuses a misspelt key, an unknown policy and a server that is not host:port, naming them', async () => {
    const [a] = await twoServers();
    for (const [config, key] of [
      [{ policy: 'least-session' }, /policy/],
      [{ sesionTtlSeconds: 60 }, /sesionTtlSeconds/],
      [{ servers: ['http://127.0.0.1:1/mcp'] }, /servers/],
    ] as const) {
      await expect(startTestGateway(mcpGateway([a], config))).rejects.toThrow(key);
    }
  });
});

describe('examples/mcp-router.yaml', () => {
  it('starts as shipped (the plugin accepts its config)', async () => {
    const { config, baseDir } = await loadConfigFile(`${ROOT}examples/mcp-router.yaml`);
    for (const p of Object.values(config.plugins ?? {})) p.path = resolve(baseDir, p.path);
    track(await startTestGateway(config));
  });
});
