/**
 * The demo upstream: echoes what reached it as JSON, and answers an OpenAI-style
 * /v1/chat/completions with a short SSE stream (so streaming through filters can be seen).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoUpstream {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startDemoUpstream(port = 0, host = '127.0.0.1', name = 'demo-upstream'): Promise<DemoUpstream> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.url?.startsWith('/v1/chat/completions') && req.headers.accept?.includes('text/event-stream')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const words = ['Hello', ' from', ' the', ' demo', ' upstream'];
      for (const w of words) {
        res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: w } }] })}\n\n`);
        await new Promise((r) => setTimeout(r, 150));
      }
      res.end('data: [DONE]\n\n');
      return;
    }
    const answer = JSON.stringify({ upstream: name, method: req.method, path: req.url, headers: req.headers, body }, null, 2);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(answer + '\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${host}:${addr.port}`,
    server,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
