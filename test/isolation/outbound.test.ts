/**
 * Outbound policy by address: an allowed name whose DNS points inside (loopback, private,
 * metadata) is refused at connect time unless the allow-list names that address; an entry
 * without a port means the default port; odd spellings of an address cannot dodge either check.
 * DNS is replaced through the bridge's `resolveHost` seam; the servers are real.
 */
import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubrequestResult } from '../../runtime/component/types.ts';
import { ConfigError, validateConfig } from '../../runtime/config/load.ts';
import type { SubrequestBridge } from '../../runtime/subrequest/bridge.ts';
import { get, makeBridge, makeParent, policy, startServer, text, type LogCapture, type TestServer } from '../subrequest/helpers.ts';

/** A fake DNS: each name answers with the listed addresses, anything else is not found. */
const DNS: Readonly<Record<string, readonly LookupAddress[]>> = {
  'rebind.test': [{ address: '127.0.0.1', family: 4 }],
  'mapped.test': [{ address: '::ffff:127.0.0.1', family: 6 }],
  'metadata.test': [{ address: '169.254.169.254', family: 4 }],
  'metadata6.test': [{ address: 'fd00:ec2::254', family: 6 }],
  'private.test': [{ address: '10.1.2.3', family: 4 }],
  'cgnat.test': [{ address: '100.64.0.1', family: 4 }],
  'mixed.test': [{ address: '127.0.0.2', family: 4 }, { address: '127.0.0.1', family: 4 }],
  localhost: [{ address: '127.0.0.1', family: 4 }],
};
async function fakeDns(hostname: string): Promise<readonly LookupAddress[]> {
  const found = DNS[hostname];
  if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return found;
}

let inner: TestServer; // a local service no plugin should reach by accident
let decoy: Server; // another local service on 127.0.0.2, same port as inner
let front: TestServer; // an allowed callee that redirects where it is told
let bridge: SubrequestBridge;
let logs: LogCapture;

beforeAll(async () => {
  inner = await startServer((_req, res) => res.end('inner'));
  front = await startServer((req, res) => {
    const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to');
    if (to === null) res.end('front');
    else res.writeHead(302, { location: to }).end();
  });
  decoy = createServer((_req, res) => res.end('decoy'));
  await new Promise<void>((resolve, reject) => decoy.once('error', reject).listen(inner.port, '127.0.0.2', resolve));
  ({ bridge, logs } = makeBridge({ resolveHost: fakeDns }));
});
afterAll(async () => {
  await bridge.close();
  await inner.close();
  await front.close();
  await new Promise((resolve) => decoy.close(resolve));
});

function expectDenied(res: SubrequestResult, reason: RegExp): void {
  expect(res.ok, JSON.stringify(res)).toBe(false);
  if (!res.ok) {
    expect(res.error.tag).toBe('denied');
    if (res.error.tag === 'denied') expect(res.error.reason).toMatch(reason);
  }
}

describe('the address a name resolves to is checked at connect time', () => {
  it('an allowed name resolving to loopback is denied, logged with plugin and address, and never connects', async () => {
    const before = inner.connections;
    const parent = makeParent({ requestId: 'rebind-1' });
    const res = await bridge.send(parent, policy([`rebind.test:${inner.port}`], { plugin: 'rebinder' }), get(`http://rebind.test:${inner.port}/`));
    expectDenied(res, new RegExp(`^host rebind\\.test:${inner.port} resolved to 127\\.0\\.0\\.1 \\(loopback\\), not allowed$`));
    expect(inner.connections).toBe(before);
    expect(parent.records).toEqual([expect.objectContaining({ plugin: 'rebinder', outcome: 'denied' })]);
    const warn = logs.lines.find((l) => l.msg === 'subrequest address denied' && l.requestId === 'rebind-1');
    expect(warn).toMatchObject({ plugin: 'rebinder', host: 'rebind.test', address: '127.0.0.1', category: 'loopback' });
  });

  const refused: Array<[string, string]> = [
    ['metadata.test', 'metadata'],
    ['metadata6.test', 'metadata'],
    ['private.test', 'private'],
    ['cgnat.test', 'carrier-grade-nat'],
    ['mapped.test', 'loopback'],
  ];
  for (const [name, category] of refused) {
    it(`an allowed name resolving to a ${category} address (${name}) is denied, not a connect failure`, async () => {
      const res = await bridge.send(makeParent(), policy([`${name}:*`]), get(`http://${name}:${inner.port}/`));
      expectDenied(res, new RegExp(`\\(${category}\\), not allowed$`));
    });
  }

  it('the same name is allowed when the allow-list names the address, a range holding it, or loopback via localhost', async () => {
    for (const entry of [`127.0.0.1:${inner.port}`, '127.0.0.0/8:*', `localhost:${inner.port}`, `[::ffff:127.0.0.1]:${inner.port}`]) {
      const res = await bridge.send(makeParent(), policy([`rebind.test:${inner.port}`, entry]), get(`http://rebind.test:${inner.port}/`));
      expect(res.ok && text(res.value.body), entry).toBe('inner');
    }
    const mapped = await bridge.send(makeParent(), policy([`mapped.test:${inner.port}`, `127.0.0.1:${inner.port}`]), get(`http://mapped.test:${inner.port}/`));
    expect(mapped.ok && text(mapped.value.body)).toBe('inner');
  });

  it('naming the address on another port does not allow this one', async () => {
    const before = inner.connections;
    const res = await bridge.send(makeParent(), policy([`rebind.test:*`, `127.0.0.1:${front.port}`]), get(`http://rebind.test:${inner.port}/`));
    expectDenied(res, /\(loopback\), not allowed$/);
    expect(inner.connections).toBe(before);
  });

  it('refused addresses are dropped from an answer (127.0.0.2 is not named); an allowed one among them is used', async () => {
    const res = await bridge.send(makeParent(), policy([`mixed.test:${inner.port}`, `127.0.0.1:${inner.port}`]), get(`http://mixed.test:${inner.port}/`));
    expect(res.ok && text(res.value.body)).toBe('inner');
  });
});

describe('pooled connections', () => {
  it("a plugin never rides another plugin's connection to an address only the other one names", async () => {
    const url = `http://rebind.test:${inner.port}/pooled`;
    const { bridge } = makeBridge({ resolveHost: fakeDns });
    const named = await bridge.send(makeParent(), policy([`rebind.test:${inner.port}`, `127.0.0.1:${inner.port}`], { plugin: 'named' }), get(url));
    expect(named.ok && text(named.value.body)).toBe('inner'); // its keep-alive connection stays open
    const other = await bridge.send(makeParent(), policy([`rebind.test:${inner.port}`], { plugin: 'other' }), get(url));
    await bridge.close();
    expectDenied(other, /\(loopback\), not allowed$/);
  });
});

describe('an entry without a port means the default port', () => {
  it('`localhost` does not reach an arbitrary local port; `localhost:<port>` and `localhost:*` do', async () => {
    const before = inner.connections;
    const bare = await bridge.send(makeParent(), policy(['localhost']), get(`http://localhost:${inner.port}/`));
    expectDenied(bare, new RegExp(`^host localhost:${inner.port} not allowed$`));
    expect(inner.connections).toBe(before);
    for (const entry of [`localhost:${inner.port}`, 'localhost:*']) {
      const res = await bridge.send(makeParent(), policy([entry]), get(`http://localhost:${inner.port}/`));
      expect(res.ok && text(res.value.body), entry).toBe('inner');
    }
  });
});

describe('odd spellings and redirects cannot dodge the checks', () => {
  const spellings = (port: number): string[] => [
    `http://2130706433:${port}/`,
    `http://0x7f.1:${port}/`,
    `http://127.1:${port}/`,
    `http://017700000001:${port}/`,
    `http://[::ffff:127.0.0.1]:${port}/`,
    `http://[::ffff:7f00:1]:${port}/`,
    `http://rebind.test:x@127.1:${port}/`,
    `http://127.0.0.1:${port}\\@rebind.test/`,
  ];

  it('every spelling of 127.0.0.1 is denied when only a name is allowed, and never connects', async () => {
    const before = inner.connections;
    for (const url of spellings(inner.port)) {
      const res = await bridge.send(makeParent(), policy(['rebind.test:*', 'localhost:*']), get(url));
      expectDenied(res, /^(host (127\.0\.0\.1|\[::ffff:7f00:1\]):\d+ not allowed|userinfo in url not allowed)$/);
    }
    expect(inner.connections).toBe(before);
  });

  it('the spellings name the same address as the entry that lists it (control)', async () => {
    for (const url of spellings(inner.port).slice(0, 6)) {
      const res = await bridge.send(makeParent(), policy([`127.0.0.1:${inner.port}`]), get(url));
      expect(res.ok && text(res.value.body), url).toBe('inner');
    }
  });

  it('a redirect to an allowed name that resolves to loopback is denied at connect time', async () => {
    const before = inner.connections;
    const p = policy([front.host, 'rebind.test:*']);
    const res = await bridge.send(makeParent(), p, get(front.url(`/?to=${encodeURIComponent(`http://rebind.test:${inner.port}/`)}`)));
    expectDenied(res, /^host rebind\.test:\d+ resolved to 127\.0\.0\.1 \(loopback\), not allowed$/);
    expect(inner.connections).toBe(before);
  });

  it('a redirect to an odd spelling of a local address is denied and never contacted', async () => {
    const before = inner.connections;
    for (const to of spellings(inner.port)) {
      const res = await bridge.send(makeParent(), policy([front.host, 'rebind.test:*']), get(front.url(`/?to=${encodeURIComponent(to)}`)));
      expectDenied(res, /^redirect to .+: (host .+ not allowed|userinfo in url not allowed)$/);
    }
    expect(inner.connections).toBe(before);
  });
});

describe('allow-list entries in the config', () => {
  it('a bad entry is a config error naming its key; good ones of every form pass', () => {
    const config = (allowedHosts: string[]): unknown => ({
      plugins: { p: { path: 'p.wasm', allowedHosts } },
      upstreams: { u: { endpoints: ['http://127.0.0.1:1'] } },
      routes: [{ name: 'r', upstream: 'u', filters: ['p'] }],
    });
    expect(() => validateConfig(config(['api.example', 'api.example:8443', 'api.example:*', '10.0.0.0/8:*', '[fc00::/7]:443', '::1', '127.0.0.1:9000']))).not.toThrow();
    let problems: string[] = [];
    try {
      validateConfig(config(['ok.example', '*.example', 'host:99999', '10.0.0.0/33', 'user@host']));
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([
      'plugins.p.allowedHosts[1]: wildcard hosts are not supported; list each host in "*.example"',
      'plugins.p.allowedHosts[2]: port 99999 is outside 1-65535 in "host:99999"',
      'plugins.p.allowedHosts[3]: prefix "/33" is not 0-32 in "10.0.0.0/33"',
      'plugins.p.allowedHosts[4]: "user@host" is not a host in "user@host"',
    ]);
  });
});
