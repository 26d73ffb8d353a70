/** Shared pieces of the two-phase orchestration suites: loopback backends, a client, the access line. */
import { request } from 'undici';
import { type LogLine, startServer, type TestGateway, type TestServer } from '../helpers/servers.ts';

/** A backend that answers `status` with `body` (text), keeping what it saw in `seen`. */
export function answering(status: number, body = `status ${status}`): Promise<TestServer> {
  return startServer((_req, res) => { res.writeHead(status, { 'content-type': 'text/plain' }).end(body); });
}

/** A loopback port with nothing listening (a server that was started and closed). */
export async function deadUrl(): Promise<string> {
  const s = await startServer(() => {});
  await s.close();
  return s.url;
}

export interface Reply { status: number; text: string; headers: Record<string, unknown> }

export async function send(url: string, opts: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const r = await request(url, { method: opts.method ?? 'GET', ...(opts.body !== undefined ? { body: opts.body } : {}), headers: opts.headers ?? {} });
  return { status: r.statusCode, text: await r.body.text(), headers: r.headers };
}

export function accessLine(g: TestGateway, path: string): LogLine | undefined {
  return g.logs.find((l) => l.log === 'access' && l.path === path);
}

/** Guest log lines equal to `msg` (testkit's `logHooks` lines: `hook <hook> <name>`). */
export function guestCount(g: TestGateway, msg: string): number {
  return g.logs.filter((l) => l.guest === true && l.msg === msg).length;
}
