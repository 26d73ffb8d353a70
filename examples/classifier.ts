/**
 * A toy prompt classifier for the semantic-router plugin's demo (examples/semantic-router.yaml):
 * "math" when the prompt has digits with an operator or math words, "code" when it mentions
 * programming, else "chat".
 * POST /classify {"text": "...", "model"?: "..."} -> {"category": "...", "confidence": 0..1}
 *
 *   npx node examples/classifier.ts [port=9300]
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export function classify(text: string): { category: string; confidence: number } {
  if (/\d\s*[-+*/^]\s*\d|\b(integral|derivative|equation|algebra|prime)\b/i.test(text)) return { category: 'math', confidence: 0.92 };
  if (/\b(code|function|python|typescript|rust|compile|bug)\b/i.test(text)) return { category: 'code', confidence: 0.88 };
  return { category: 'chat', confidence: 0.6 };
}

export interface Classifier {
  url: string;
  port: number;
  server: Server;
  /** Texts classified so far. */
  texts: string[];
  close(): Promise<void>;
}

export async function startClassifier(opts: { port?: number; host?: string } = {}): Promise<Classifier> {
  const texts: string[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url !== '/classify') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"POST /classify"}');
      return;
    }
    let text: string;
    try {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text?: unknown };
      text = typeof parsed.text === 'string' ? parsed.text : '';
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"body is not JSON"}');
      return;
    }
    texts.push(text);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(classify(text)));
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`, port, server, texts,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = await startClassifier({ port: Number(process.argv[2] ?? 9300) });
  console.error(`classifier on ${s.url}/classify`);
}
