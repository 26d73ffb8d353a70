/** An MCP client over Streamable HTTP (just what the tests need) and gateways with mcp-router in front of MCP servers. */
import { request } from 'undici';
import type { GatewayConfig, KeyValueConfig } from '../../runtime/config/types.ts';
import { pluginPath } from '../helpers/servers.ts';
import type { McpServer } from '../../examples/mcp-servers.ts';

export interface Answer { status: number; session?: string; json?: { result?: unknown; error?: { code: number; message: string } } }

let nextId = 1;

export async function rpc(gateway: string, method: string, session?: string, params: Record<string, unknown> = {}): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (session !== undefined) headers['mcp-session-id'] = session;
  const r = await request(`${gateway}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }) });
  const text = await r.body.text();
  const sid = r.headers['mcp-session-id'];
  return { status: r.statusCode, session: typeof sid === 'string' ? sid : undefined, json: text ? JSON.parse(text) as Answer['json'] : undefined };
}

/** initialize: the session id the server assigned (through the gateway), and the server's name. */
export async function initialize(gateway: string, headers: Record<string, string> = {}): Promise<{ session: string; server: string }> {
  const r = await request(`${gateway}/mcp`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } } }),
  });
  const body = await r.body.json() as { result: { serverInfo: { name: string } } };
  if (r.statusCode !== 200) throw new Error(`initialize: ${r.statusCode}`);
  return { session: String(r.headers['mcp-session-id']), server: body.result.serverInfo.name };
}

/** tools/call whoami: which server answered for `session` ("<name> <session>"), or the error status. */
export async function whoami(gateway: string, session: string): Promise<string | number> {
  const r = await rpc(gateway, 'tools/call', session, { name: 'whoami', arguments: {} });
  if (r.status !== 200) return r.status;
  return ((r.json!.result as { content: Array<{ text: string }> }).content[0]!.text);
}

export async function end(gateway: string, session: string): Promise<number> {
  const r = await request(`${gateway}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': session } });
  await r.body.text();
  return r.statusCode;
}

export function mcpGateway(servers: McpServer[], config: Record<string, unknown> = {}, keyvalue?: KeyValueConfig, allowedHosts?: string[]): GatewayConfig {
  const hostPorts = servers.map((s) => `127.0.0.1:${s.port}`);
  return {
    plugins: { mcp: { path: pluginPath('mcp-router'), config: { servers: hostPorts, ...config }, ...(allowedHosts ? { allowedHosts } : {}) } },
    upstreams: { mcp: { endpoints: servers.map((s) => s.url) } },
    routes: [{ name: 'mcp', match: { pathPrefix: '/mcp' }, upstream: 'mcp', filters: ['mcp'] }],
    ...(keyvalue ? { keyvalue } : {}),
  };
}
