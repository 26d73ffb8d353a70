/**
 * The baseline a user would write first: node:http in front of an undici Pool, streaming both
 * ways. Argument: the upstream origin. Reports its port over IPC.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const pool = new Pool(process.argv[2]!, { connections: 128 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'host']);
const server = createServer({ keepAlive: true }, (req, res) => {
  const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !HOP.has(k)));
  const body = req.method === 'GET' || req.method === 'HEAD' ? null : req;
  pool.stream({ path: req.url!, method: req.method as 'GET', headers, body }, ({ statusCode, headers: h }) => {
    res.writeHead(statusCode, Object.fromEntries(Object.entries(h).filter(([k]) => !HOP.has(k))));
    return res;
  }, (err) => { if (err && !res.headersSent) res.writeHead(502).end(); else if (err) res.destroy(); });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
