/**
 * A toy retriever for the rag plugin's demo (examples/rag.yaml): a few fixed documents, ranked
 * by how many words of the query they share.
 * POST /retrieve {"query": "...", "topK": n} -> {"documents": [{"id", "text"}, ...]}
 *
 *   npx node examples/retriever.ts [port=9200]
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const DOCUMENTS = [
  { id: 'pool', text: 'praxis-wasm keeps a pool of instances per plugin; one call per instance at a time.' },
  { id: 'subrequest', text: 'A sub-request is bounded by a timeout, a size limit and the allowed hosts of its plugin.' },
  { id: 'fuel', text: 'A hook that runs past its CPU budget traps instead of stalling the gateway.' },
  { id: 'reload', text: 'The gateway reloads its config without dropping requests in flight.' },
];

const words = (s: string): Set<string> => new Set(s.toLowerCase().split(/[^a-z0-9-]+/).filter((w) => w.length > 2));

export interface Retriever {
  url: string;
  port: number;
  server: Server;
  /** Queries asked so far. */
  queries: string[];
  close(): Promise<void>;
}

export async function startRetriever(opts: { port?: number; host?: string } = {}): Promise<Retriever> {
  const queries: string[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url !== '/retrieve') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"POST /retrieve"}');
      return;
    }
    let query: string;
    let topK: number;
    try {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query?: unknown; topK?: unknown };
      query = typeof parsed.query === 'string' ? parsed.query : '';
      topK = typeof parsed.topK === 'number' ? parsed.topK : 3;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"body is not JSON"}');
      return;
    }
    queries.push(query);
    const asked = words(query);
    const ranked = DOCUMENTS
      .map((d) => ({ d, score: [...words(d.text)].filter((w) => asked.has(w)).length }))
      .filter((x) => x.score > 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, topK)
      .map((x) => x.d);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ documents: ranked }));
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`, port, server, queries,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = await startRetriever({ port: Number(process.argv[2] ?? 9200) });
  console.error(`retriever on ${s.url}/retrieve`);
}
