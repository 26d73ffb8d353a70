/**
 * A toy cache service for the semantic-cache plugin's demo (examples/semantic-cache.yaml).
 * GET /cache/<key> -> 200 with the stored body, or 404; PUT /cache/<key> stores the body (204).
 *
 *   npx node examples/cache.ts [port=9200]
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface CacheServer {
  url: string;
  port: number;
  server: Server;
  store: Map<string, Buffer>;
  /** Every request, in arrival order. */
  requests: Array<{ method: string; key: string; body: string }>;
  close(): Promise<void>;
}

export async function startCache(opts: { port?: number; host?: string } = {}): Promise<CacheServer> {
  const store = new Map<string, Buffer>();
  const requests: CacheServer['requests'] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const m = /^\/cache\/([^/?#]+)$/.exec(req.url ?? '');
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const key = decodeURIComponent(m[1]!);
    requests.push({ method: req.method ?? '', key, body: body.toString('utf8') });
    if (req.method === 'GET') {
      const hit = store.get(key);
      if (hit === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/json', 'content-length': hit.length }).end(hit);
    } else if (req.method === 'PUT') {
      store.set(key, body);
      res.writeHead(204).end();
    } else {
      res.writeHead(405, { allow: 'GET, PUT' }).end();
    }
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`, port, server, store, requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = await startCache({ port: Number(process.argv[2] ?? 9200) });
  console.error(`cache on ${s.url}/cache/<key>`);
}
