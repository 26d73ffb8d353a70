/**
 * Red-team: clients that break off, trickle, or flood a body filter. Whatever they do, each
 * exchange ends, its pooled instance goes back, and well-behaved requests keep being answered.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.ts';
import { startEchoUpstream, startTestGateway } from '../helpers/servers.ts';
import { oneRoute, sleep, testkit, until } from '../gateway/helpers.ts';

const track = useCleanup();

describe('clients that misbehave around a body filter', () => {
  for (const mode of ['stream', 'buffer:65536']) {
    it(`a client reset mid-body (${mode}) frees its exchange and instance; the next request is served`, async () => {
      const up = track(await startEchoUpstream());
      const gw = track(await startTestGateway(oneRoute({ b: testkit({ requestBody: mode, logChunks: true }) }, ['b'], { main: up.url })));
      for (let i = 0; i < 5; i++) {
        const s = connect(gw.port, '127.0.0.1');
        s.on('error', () => {});
        s.write(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n${'a'.repeat(20_000)}`);
        await sleep(50);
        s.resetAndDestroy();
      }
      await until(() => gw.exchangesInFlight() === 0, 'exchanges to end', 10_000);
      await until(() => gw.poolStats().every((p) => p.borrowed === 0), 'instances to return', 10_000);
      const res = await fetch(`${gw.url}/ok`, { method: 'POST', body: 'fine' });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { body: string }).body).toBe('fine');
    });
  }

  it('a chunked body of 50,000 one-byte chunks to a stream filter is answered, without a hook call per chunk', async () => {
    const up = track(await startEchoUpstream());
    const gw = track(await startTestGateway(oneRoute({ b: testkit({ requestBody: 'stream', logChunks: true }) }, ['b'], { main: up.url })));
    const s = connect(gw.port, '127.0.0.1');
    let out = '';
    s.on('data', (d: Buffer) => { out += d.toString('latin1'); });
    s.write('POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
    s.write(`${'1\r\na\r\n'.repeat(50_000)}0\r\n\r\n`);
    await new Promise<void>((r) => s.on('close', () => r()));
    expect(out.startsWith('HTTP/1.1 200')).toBe(true);
    expect(out).toContain('a'.repeat(1000));
    const calls = gw.logs.filter((l) => l.guest === true && typeof l.msg === 'string' && l.msg.includes('chunk')).length;
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(50_000); // the parser's chunks are coalesced while a hook runs
  });

  it('floods and spoofed identity: 101 header fields, a 1 MB path; the gateway sets attempt and depth itself', async () => {
    const up = track(await startEchoUpstream());
    const gw = track(await startTestGateway(oneRoute({ b: testkit({}) }, ['b'], { main: up.url })));
    const fields = Array.from({ length: 101 }, (_, i) => `x-f${i}: v`).join('\r\n');
    for (const head of [`GET /a HTTP/1.1\r\nHost: x\r\n${fields}\r\n\r\n`, `GET /${'a'.repeat(1 << 20)} HTTP/1.1\r\nHost: x\r\n\r\n`]) {
      const s = connect(gw.port, '127.0.0.1');
      let out = '';
      s.on('data', (d: Buffer) => { out += d.toString('latin1'); });
      s.on('error', () => {});
      s.write(head);
      await new Promise<void>((r) => s.on('close', () => r()));
      expect(out).toMatch(/^HTTP\/1\.1 431/);
    }
    expect(up.seen).toHaveLength(0);
    const res = await fetch(`${gw.url}/a`, { headers: { 'x-processor-attempt': '99', 'x-praxis-depth': '-5', 'x-request-id': 'x'.repeat(200) } });
    expect(res.status).toBe(200);
    const seen = ((await res.json()) as { headers: Record<string, string> }).headers;
    expect(seen['x-processor-attempt']).toBe('1');
    expect(seen['x-praxis-depth']).toBe('1');
    expect(seen['x-request-id']).not.toBe('x'.repeat(200));
  });
});
