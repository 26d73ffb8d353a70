/**
 * The benchmark upstream: a node:http server on 127.0.0.1 in its own process; reports its port
 * over IPC. An argument N > 1 runs N processes sharing the port (node:cluster), so that the
 * upstream is not what limits a gateway with several workers.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const workers = Math.max(1, Number(process.argv[2] ?? 1) || 1);
const body = JSON.stringify({ id: 'cmpl-1', object: 'chat.completion', choices: [{ message: { role: 'assistant', content: 'ok' } }] });

function serve(port: number, onListening: (port: number) => void): void {
  const server = createServer({ keepAlive: true }, (req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1', () => onListening((server.address() as AddressInfo).port));
}

if (workers === 1) {
  serve(0, (port) => process.send!({ port }));
  process.on('disconnect', () => process.exit(0));
} else if (cluster.isPrimary) {
  // Round-robin in the primary: connections spread evenly whatever the kernel would pick.
  cluster.schedulingPolicy = cluster.SCHED_RR;
  let listening = 0;
  cluster.on('listening', (_w, address) => { if (++listening === workers) process.send!({ port: address.port }); });
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('disconnect', () => { for (const w of Object.values(cluster.workers ?? {})) w?.kill(); process.exit(0); });
} else {
  serve(0, () => {}); // port 0 in a cluster worker: every worker shares one port the primary picks
}
