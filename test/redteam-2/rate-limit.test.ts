/**
 * rate-limit against a lying client: spoofed, duplicated and oddly cased x-forwarded-for (the
 * gateway appends the socket address, so the key stays the client's own), a header key sent
 * twice, and JSON body keys that are huge, nested or not strings.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.ts';
import { startEchoUpstream, startTestGateway } from '../helpers/servers.ts';
import { limitedGateway } from '../plugins-rate-limit/helpers.ts';

const track = useCleanup();

/** One request with raw header lines (names cased and repeated as given); its status. */
function rawStatus(url: string, headers: Array<[string, string]>, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const flat: string[] = ['Host', 'localhost'];
    for (const [k, v] of headers) flat.push(k, v);
    const req = request(url, { method: body === undefined ? 'GET' : 'POST', headers: flat }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.end(body);
  });
}

describe('rate-limit and a lying client', () => {
  it('x-forwarded-for spoofing (new value each time, duplicated, any case) never buys more than the limit', async () => {
    const up = track(await startEchoUpstream());
    const gw = track(await startTestGateway(limitedGateway('rate-limit', { limit: 3, windowSeconds: 60, algorithm: 'fixed' }, up.url)));
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      seen.push(await rawStatus(`${gw.url}/`, [
        ['X-Forwarded-For', `10.0.0.${i}`], ['x-forwarded-for', `10.1.${i}.1, 10.2.0.${i}`], ['X-FORWARDED-FOR', `${i}.${i}.${i}.${i},`],
      ]));
    }
    expect(seen.filter((s) => s === 200)).toHaveLength(3);
    expect(seen.slice(3).every((s) => s === 429)).toBe(true);
  });

  it('a key header sent twice or in another case counts as one client; a body key that is huge, nested or not a string does not crash', async () => {
    const up = track(await startEchoUpstream());
    const gw = track(await startTestGateway(limitedGateway('rate-limit', { limit: 2, windowSeconds: 60, algorithm: 'fixed', keyFrom: 'header', keyName: 'x-tenant' }, up.url)));
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) seen.push(await rawStatus(`${gw.url}/`, [['X-Tenant', 'acme'], ['x-tenant', `other-${i}`]]));
    expect(seen).toEqual([200, 200, 429, 429]);

    const body = track(await startTestGateway(limitedGateway('rate-limit', { limit: 1, windowSeconds: 60, algorithm: 'fixed', keyFrom: 'body', keyName: 'user' }, up.url)));
    const bodies = [
      JSON.stringify({ user: 'u'.repeat(20_000) }),
      `{"user":${'['.repeat(50_000)}${']'.repeat(50_000)}}`,
      `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
      JSON.stringify({ user: { nested: 'x' } }),
      JSON.stringify({ user: 12345678901234567890 }),
      '{"user": "\\ud800"}',
      'not json at all',
    ];
    for (const b of bodies) expect([200, 429, 413], b.slice(0, 30)).toContain(await rawStatus(`${body.url}/`, [['content-type', 'application/json']], b));
    // A huge key is still one key: its second request is limited.
    expect(await rawStatus(`${body.url}/`, [['content-type', 'application/json']], bodies[0])).toBe(429);
  });
});
