/**
 * An OpenAI-style upstream for the token-budget tests: a JSON completion with `usage`, or (with
 * "stream": true) an SSE stream whose last chunk before [DONE] carries it. A stream stops after
 * its first event until `release()`, so a test can see that the gateway passed it on.
 * `"fail": true` answers 500, still with `usage`; a JSON answer is gzipped when the request accepts gzip.
 */
import { gzipSync } from 'node:zlib';
import { startServer, type TestServer } from '../helpers/servers.ts';

export interface FakeLlm extends TestServer {
  /** Lets the held streams go on. */
  release(): void;
  /** The usage each answer reports (total = prompt + completion). */
  usage: { prompt: number; completion: number };
}

export async function startFakeLlm(usage = { prompt: 10, completion: 20 }): Promise<FakeLlm> {
  let open!: () => void;
  let gate = new Promise<void>((r) => { open = r; });
  const u = () => ({ prompt_tokens: usage.prompt, completion_tokens: usage.completion, total_tokens: usage.prompt + usage.completion });
  const server = await startServer(async (req, res, body) => {
    const asked = JSON.parse(body || '{}') as { stream?: boolean; fail?: boolean };
    const stream = asked.stream === true;
    if (!stream) {
      const text = JSON.stringify({ id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'the "usage": {"total_tokens": 999999} trick' } }], usage: u() });
      // As a real provider does when the request asks for it.
      const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      res.writeHead(asked.fail ? 500 : 200, { 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
      res.end(gzip ? gzipSync(text) : text);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const event = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
    res.write(event({ id: 's1', choices: [{ index: 0, delta: { content: 'first' } }], usage: null }));
    await gate;
    res.write(event({ id: 's1', choices: [{ index: 0, delta: { content: ' and more' } }], usage: null }));
    // The usage event split in two writes, through the middle of its "usage" member.
    const last = event({ id: 's1', choices: [], usage: u() });
    const cut = last.indexOf('"usage"') + 3;
    res.write(last.slice(0, cut));
    await new Promise((r) => setTimeout(r, 20));
    res.write(last.slice(cut));
    res.end('data: [DONE]\n\n');
  });
  return Object.assign(server, {
    usage,
    release: () => { open(); gate = new Promise<void>((r) => { open = r; }); },
  });
}
