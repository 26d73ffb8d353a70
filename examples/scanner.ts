/**
 * A toy prompt scanner for the guardrail plugin's demo (examples/guardrail.yaml).
 * POST /scan {"prompt": "..."} -> {"verdict":"block","reason":...} when the prompt mentions
 * "attack" (any case), else {"verdict":"allow"}.
 *
 *   npx node examples/scanner.ts [port=9100] [delayMs=0]
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface Scanner {
  url: string;
  port: number;
  server: Server;
  /** Prompts scanned so far. */
  prompts: string[];
  close(): Promise<void>;
}

export async function startScanner(opts: { port?: number; host?: string; delayMs?: number } = {}): Promise<Scanner> {
  const prompts: string[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url !== '/scan') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"POST /scan"}');
      return;
    }
    let prompt: string;
    try {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { prompt?: unknown };
      prompt = typeof parsed.prompt === 'string' ? parsed.prompt : '';
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"body is not JSON"}');
      return;
    }
    prompts.push(prompt);
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    if (res.destroyed) return;
    const verdict = /attack/i.test(prompt)
      ? { verdict: 'block', reason: 'prompt mentions an attack' }
      : { verdict: 'allow' };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(verdict));
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`, port, server, prompts,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = await startScanner({ port: Number(process.argv[2] ?? 9100), delayMs: Number(process.argv[3] ?? 0) });
  console.error(`scanner on ${s.url}/scan`);
}
