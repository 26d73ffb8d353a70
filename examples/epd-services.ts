/**
 * Fake encode, prefill and decode servers for the epd-disagg demo (examples/epd-disagg.yaml).
 * Encoders answer a 1-token call with `ec_transfer_params`, prefill servers with
 * `kv_transfer_params`; the decode server answers an OpenAI chat completion naming the params
 * and checkpoints the gateway handed it.
 *
 *   npx node examples/epd-services.ts   # encode :9301 :9302, prefill :9311 :9312, decode :9400
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

type Handler = (req: IncomingMessage, body: string) => { status: number; json: unknown };

function serve(port: number, handler: Handler): void {
  createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const { status, json } = handler(req, Buffer.concat(chunks).toString('utf8'));
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
  }).listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
}

const stage = (name: string, member: string): Handler => (req) => {
  console.log(`${name}: ${req.headers['x-epd-stage']} for ${req.headers['x-epd-request-id']}`);
  return { status: 200, json: { id: name, choices: [{ text: '' }], [member]: { engine: name, blocks: [1, 2, 3] } } };
};

serve(9301, stage('encode-1', 'ec_transfer_params'));
serve(9302, stage('encode-2', 'ec_transfer_params'));
serve(9311, stage('prefill-1', 'kv_transfer_params'));
serve(9312, stage('prefill-2', 'kv_transfer_params'));
serve(9400, (req) => ({
  status: 200,
  json: {
    id: 'chatcmpl-epd', object: 'chat.completion', model: 'demo',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'decoded' } }],
    epd: { checkpoints: req.headers['x-epd-checkpoints'], kv: req.headers['x-kv-transfer-params'], encoder: req.headers['x-encode-endpoint'] ?? null },
  },
}));
