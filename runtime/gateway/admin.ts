/**
 * The admin listener, apart from client traffic: `/metrics` (Prometheus text), `/healthz` (the
 * process answers), `/readyz` (send it traffic), `/config` (the effective config, secrets
 * redacted) and `/plugins` (what is loaded and how its pools are doing). It starts before the
 * plugins load, so an orchestrator sees "alive, not ready" during a slow start instead of a
 * refused connection, and it stays up while the gateway drains, answering 503 on `/readyz`.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

/** Where the metrics text comes from: one gateway's registry, or a cluster's aggregate. */
export interface MetricsSource {
  text(): Promise<string>;
  readonly contentType: string;
}

export interface Readiness {
  ready: boolean;
  /** Why not, or what is running ("starting: loading plugins", "draining"). */
  state: string;
}

/** What the admin endpoints report; each is read per request (a gateway changes underneath). */
export interface AdminSources {
  metrics: MetricsSource;
  readiness(): Readiness;
  /** The effective config, already redacted. */
  config(): unknown;
  /** One entry per loaded plugin (see `PluginView`), or per worker in a cluster. */
  plugins(): unknown | Promise<unknown>;
}

export interface Admin {
  readonly url: string;
  close(): Promise<void>;
}

const ENDPOINTS = '/metrics, /healthz, /readyz, /config, /plugins';

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(body, null, 2)}\n`);
}

export async function startAdmin(cfg: { host?: string; port: number }, sources: AdminSources, logger: Logger): Promise<Admin> {
  const failed = (res: ServerResponse, what: string) => (err: Error) => {
    logger.error({ err }, `admin: ${what} failed`);
    if (!res.headersSent) res.writeHead(500).end();
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('admin endpoints are read-only\n');
      return;
    }
    switch (path) {
      case '/metrics':
        sources.metrics.text().then((text) => res.writeHead(200, { 'content-type': sources.metrics.contentType }).end(text), failed(res, 'metrics collection'));
        return;
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      case '/readyz': {
        const r = sources.readiness();
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end(`${r.state}\n`);
        return;
      }
      case '/config':
        json(res, 200, sources.config());
        return;
      case '/plugins':
        Promise.resolve(sources.plugins()).then((p) => json(res, 200, p), failed(res, 'plugins view'));
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`admin: ${ENDPOINTS}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
