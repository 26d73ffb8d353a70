/**
 * Toy MCP servers on the Streamable HTTP transport, for the mcp-router demo
 * (examples/mcp-router.yaml) and its tests. Each serves JSON-RPC on POST /mcp: `initialize`
 * (without a session) creates a session and answers its id in `Mcp-Session-Id`; later requests
 * must carry it (unknown: 404, missing: 400); `tools/call` of `whoami` answers the server's name;
 * DELETE /mcp ends the session.
 *
 *   npx node examples/mcp-servers.ts [port=9101] [port=9102]
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface McpServer {
  name: string;
  url: string;
  port: number;
  server: Server;
  sessions: Set<string>;
  /** Every request seen: its JSON-RPC method (or the HTTP method) and session, and the answer's status. */
  seen: Array<{ method: string; session?: string; status: number }>;
  close(): Promise<void>;
}

interface RpcRequest { jsonrpc?: string; id?: number | string; method?: string; params?: { name?: string } }

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body === undefined ? undefined : JSON.stringify(body));
  return status;
}

export async function startMcpServer(name: string, opts: { port?: number; host?: string } = {}): Promise<McpServer> {
  const sessions = new Set<string>();
  const seen: McpServer['seen'] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const session = req.headers['mcp-session-id'] as string | undefined;
    const record = (method: string, status: number): void => { seen.push({ method, session, status }); };
    if (req.url !== '/mcp') return record(req.method ?? '', answer(res, 404, { error: 'POST /mcp' }));
    if (req.method === 'DELETE') {
      const known = session !== undefined && sessions.delete(session);
      return record('DELETE', answer(res, known ? 200 : 404, known ? { ok: true } : { error: 'unknown session' }));
    }
    let rpc: RpcRequest;
    try {
      rpc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RpcRequest;
    } catch {
      return record('?', answer(res, 400, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null }));
    }
    const method = rpc.method ?? '?';
    if (method === 'initialize' && session === undefined) {
      const id = `${name}-${randomUUID()}`;
      sessions.add(id);
      const result = { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name, version: '1.0.0' } };
      return record(method, answer(res, 200, { jsonrpc: '2.0', id: rpc.id, result }, { 'mcp-session-id': id }));
    }
    if (session === undefined) return record(method, answer(res, 400, { jsonrpc: '2.0', error: { code: -32600, message: 'Mcp-Session-Id required' }, id: rpc.id ?? null }));
    if (!sessions.has(session)) return record(method, answer(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: rpc.id ?? null }));
    if (rpc.id === undefined) return record(method, answer(res, 202, undefined)); // a notification
    if (method === 'tools/list') {
      return record(method, answer(res, 200, { jsonrpc: '2.0', id: rpc.id, result: { tools: [{ name: 'whoami', description: 'the server answering', inputSchema: { type: 'object' } }] } }));
    }
    if (method === 'tools/call' && rpc.params?.name === 'whoami') {
      return record(method, answer(res, 200, { jsonrpc: '2.0', id: rpc.id, result: { content: [{ type: 'text', text: `${name} ${session}` }] } }));
    }
    return record(method, answer(res, 200, { jsonrpc: '2.0', id: rpc.id, error: { code: -32601, message: 'Method not found' } }));
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    name, url: `http://127.0.0.1:${port}`, port, server, sessions, seen,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ports = process.argv.slice(2).map(Number);
  for (const [i, port] of (ports.length ? ports : [9101, 9102]).entries()) {
    const s = await startMcpServer(`mcp-${i + 1}`, { port });
    console.log(`MCP server ${s.name} on ${s.url}/mcp`);
  }
}
