import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createNetServer, connect as netConnect, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { get, makeBridge, makeParent, policy, startServer } from './helpers.ts';

async function rawServer(onSocket: (s: Socket) => void): Promise<{ server: NetServer; port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('error mapping', () => {
  it('connection refused -> connect(reason)', async () => {
    const srv = await startServer((_req, res) => res.end());
    const port = srv.port;
    await srv.close();
    const { bridge } = makeBridge();
    const res = await bridge.send(makeParent(), policy(['127.0.0.1:*']), get(`http://127.0.0.1:${port}/`));
    await bridge.close();
    expect(res.ok === false && res.error.tag).toBe('connect');
    expect(res.ok === false && res.error.tag === 'connect' && res.error.reason).toMatch(/ECONNREFUSED/);
  });

  it('connection reset before a response -> connect(reason)', async () => {
    const raw = await rawServer((s) => s.once('data', () => s.resetAndDestroy()));
    const { bridge } = makeBridge();
    const res = await bridge.send(makeParent(), policy(['127.0.0.1:*']), get(`http://127.0.0.1:${raw.port}/`));
    await bridge.close();
    await raw.close();
    expect(res.ok === false && res.error.tag).toBe('connect');
  });

  it('a malformed response -> protocol(reason)', async () => {
    const raw = await rawServer((s) => s.once('data', () => s.end('HELLO THIS IS NOT HTTP\r\n\r\n')));
    const { bridge } = makeBridge();
    const res = await bridge.send(makeParent(), policy(['127.0.0.1:*']), get(`http://127.0.0.1:${raw.port}/`));
    await bridge.close();
    await raw.close();
    expect(res.ok === false && res.error.tag).toBe('protocol');
  });

  it('a body cut short of its content-length -> protocol(reason)', async () => {
    const raw = await rawServer((s) =>
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort');
        setTimeout(() => s.destroy(), 20);
      }),
    );
    const { bridge } = makeBridge();
    const res = await bridge.send(makeParent(), policy(['127.0.0.1:*']), get(`http://127.0.0.1:${raw.port}/`));
    await bridge.close();
    await raw.close();
    expect(res.ok === false && res.error.tag).toBe('protocol');
  });

  it('an invalid guest request (bad method) -> protocol, never a rejection', async () => {
    const srv = await startServer((_req, res) => res.end());
    const { bridge } = makeBridge();
    const res = await bridge.send(makeParent(), policy([srv.host]), get(srv.url(), { method: 'GE T' }));
    await bridge.close();
    await srv.close();
    expect(res.ok === false && res.error.tag).toBe('protocol');
  });

  it('the connect timeout applies (a listener whose accept queue is full never completes the handshake)', async () => {
    // A python listener with backlog 0 that never accepts: once its queue is full the kernel
    // drops further SYNs, so a connect hangs until the client gives up.
    // (Node accepts every connection itself, so it cannot play this listener; python3 ships on
    // every machine of this project's kind.)
    const child: ChildProcess = spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const port = await new Promise<number>((resolve, reject) => {
      child.on('error', (err) => reject(new Error(`this test needs python3 for a listener that never accepts: ${err.message}`)));
      child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    });
    const fillers: Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const s = netConnect(port, '127.0.0.1');
        s.on('error', () => {});
        fillers.push(s);
      }
      await new Promise((r) => setTimeout(r, 100));
      const { bridge } = makeBridge({ connectTimeoutMs: 200 });
      const t0 = performance.now();
      const res = await bridge.send(makeParent(), policy(['127.0.0.1:*']), get(`http://127.0.0.1:${port}/`, { timeoutMs: 3000 }));
      const ms = performance.now() - t0;
      await bridge.close();
      expect(res.ok === false && res.error.tag).toBe('connect');
      // undici arms the connect timer on its coarse (~0.5-1 s) timer wheel; without the
      // setting it would wait 10 s and the 3 s request timeout would answer `timeout`.
      expect(ms).toBeLessThan(2500);
    } finally {
      for (const s of fillers) s.destroy();
      child.kill();
    }
  });
});
