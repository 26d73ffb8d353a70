/** The benchmark upstream: a node:http server on 127.0.0.1 in its own process; reports its port over IPC. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const body = JSON.stringify({ id: 'cmpl-1', object: 'chat.completion', choices: [{ message: { role: 'assistant', content: 'ok' } }] });
const server = createServer({ keepAlive: true }, (req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
