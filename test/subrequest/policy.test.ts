import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkUrl, parseHostRule } from '../../runtime/subrequest/policy.ts';
import { get, makeBridge, makeParent, policy, startServer, type TestServer } from './helpers.ts';

describe('allow-list normalisation', () => {
  it('normalises entries the way the WHATWG parser normalises hosts', () => {
    const v6 = { family: 'ipv6', address: '::1', prefix: 128 };
    expect(parseHostRule('Example.COM')).toEqual({ host: 'example.com', port: 'default' });
    expect(parseHostRule('example.com:8080')).toEqual({ host: 'example.com', port: 8080 });
    expect(parseHostRule('example.com:*')).toEqual({ host: 'example.com', port: 'any' });
    expect(parseHostRule('[::1]')).toEqual({ host: '[::1]', port: 'default', ip: v6 });
    expect(parseHostRule('::1')).toEqual({ host: '[::1]', port: 'default', ip: v6 });
    expect(parseHostRule('[0:0::1]:80')).toEqual({ host: '[::1]', port: 80, ip: v6 });
    expect(parseHostRule('0x7f.1:9000')).toEqual({ host: '127.0.0.1', port: 9000, ip: { family: 'ipv4', address: '127.0.0.1', prefix: 32 } });
    expect(parseHostRule('10.0.0.0/8:*')).toEqual({ host: '10.0.0.0/8', port: 'any', ip: { family: 'ipv4', address: '10.0.0.0', prefix: 8 } });
    expect(parseHostRule('[FC00::/7]:443')).toEqual({ host: '[fc00::]/7', port: 443, ip: { family: 'ipv6', address: 'fc00::', prefix: 7 } });
    expect(parseHostRule('fc00::/7')).toEqual({ host: '[fc00::]/7', port: 'default', ip: { family: 'ipv6', address: 'fc00::', prefix: 7 } });
    expect(parseHostRule('10.0.0.0/33')).toBeUndefined();
    expect(parseHostRule('example.com/8')).toBeUndefined();
    expect(parseHostRule('*.example.com')).toBeUndefined();
    expect(parseHostRule('host:')).toBeUndefined();
    expect(parseHostRule('user@host')).toBeUndefined();
    expect(parseHostRule('host/path')).toBeUndefined();
    expect(parseHostRule('host:99999')).toBeUndefined();
    expect(parseHostRule('')).toBeUndefined();
  });

  it('matches host:port entries with default ports made explicit', () => {
    expect(checkUrl('http://api.example/x', ['api.example:80']).ok).toBe(true);
    expect(checkUrl('https://api.example/x', ['api.example:443']).ok).toBe(true);
    expect(checkUrl('https://api.example/x', ['api.example:80']).ok).toBe(false);
    expect(checkUrl('http://API.Example:80/x', ['api.example:80']).ok).toBe(true);
    expect(checkUrl('http://[0::1]:8080/', ['[::1]:8080']).ok).toBe(true);
    expect(checkUrl('http://[::1]:8081/', ['[::1]:8080']).ok).toBe(false);
    expect(checkUrl('http://api.example.evil/x', ['api.example']).ok).toBe(false);
    expect(checkUrl('http://2130706433/', ['127.0.0.1']).ok).toBe(true); // same host, other spelling
    expect(checkUrl('http://127.0.0.2/', ['127.0.0.1']).ok).toBe(false);
    expect(checkUrl('http://api.example/', []).ok).toBe(false);
  });

  it('an entry without a port allows only the scheme\'s default port; host:* allows every port', () => {
    expect(checkUrl('http://api.example/x', ['api.example']).ok).toBe(true);
    expect(checkUrl('https://api.example/x', ['api.example']).ok).toBe(true);
    expect(checkUrl('http://api.example:9/x', ['api.example'])).toEqual({ ok: false, reason: 'host api.example:9 not allowed' });
    expect(checkUrl('http://api.example:443/x', ['api.example']).ok).toBe(false); // 443 is https's default, not http's
    expect(checkUrl('http://localhost:8081/', ['localhost']).ok).toBe(false);
    expect(checkUrl('http://api.example:9/x', ['api.example:*']).ok).toBe(true);
    expect(checkUrl('https://api.example:8443/x', ['api.example:*']).ok).toBe(true);
    expect(checkUrl('http://[::1]:9/', ['[::1]:*']).ok).toBe(true);
  });

  it('a range entry allows the IP literals inside it, never a name', () => {
    expect(checkUrl('http://10.1.2.3:8080/', ['10.0.0.0/8:8080']).ok).toBe(true);
    expect(checkUrl('http://11.0.0.1:8080/', ['10.0.0.0/8:8080']).ok).toBe(false);
    expect(checkUrl('http://10.1.2.3:8081/', ['10.0.0.0/8:8080']).ok).toBe(false);
    expect(checkUrl('http://[fd12::1]/', ['fc00::/7']).ok).toBe(true);
    expect(checkUrl('http://[::ffff:10.1.2.3]/', ['10.0.0.0/8']).ok).toBe(true); // the IPv4-mapped form of an address in it
    expect(checkUrl('http://ten.example/', ['10.0.0.0/8']).ok).toBe(false);
  });

  it('refuses userinfo, other schemes and unparsable urls', () => {
    expect(checkUrl('http://u:p@api.example/', ['api.example'])).toEqual({ ok: false, reason: 'userinfo in url not allowed' });
    expect(checkUrl('http://api.example@evil.example/', ['api.example', 'evil.example']).ok).toBe(false);
    expect(checkUrl('ftp://api.example/', ['api.example']).ok).toBe(false);
    expect(checkUrl('file:///etc/passwd', ['api.example']).ok).toBe(false);
    expect(checkUrl('not a url', ['api.example']).ok).toBe(false);
  });
});

describe('denied calls open no connection', () => {
  let allowed: TestServer;
  let other: TestServer;
  beforeAll(async () => {
    allowed = await startServer((_req, res) => res.end('allowed'));
    other = await startServer((_req, res) => res.end('other'));
  });
  afterAll(async () => {
    await allowed.close();
    await other.close();
  });

  it('host:port entry: the same host on another port is denied and never contacted', async () => {
    const { bridge } = makeBridge();
    const p = policy([`127.0.0.1:${allowed.port}`]);
    const ok = await bridge.send(makeParent(), p, get(allowed.url('/a')));
    const denied = await bridge.send(makeParent(), p, get(other.url('/b')));
    await bridge.close();
    expect(ok.ok).toBe(true);
    expect(denied).toEqual({ ok: false, error: { tag: 'denied', reason: `host 127.0.0.1:${other.port} not allowed` } });
    expect(other.connections).toBe(0);
  });

  it('a host:* entry allows any port of that host; a bare entry only the default port, and opens no connection elsewhere', async () => {
    const { bridge } = makeBridge();
    const before = other.connections;
    const bare = await bridge.send(makeParent(), policy(['127.0.0.1']), get(other.url()));
    expect(bare).toEqual({ ok: false, error: { tag: 'denied', reason: `host 127.0.0.1:${other.port} not allowed` } });
    expect(other.connections).toBe(before);
    const res = await bridge.send(makeParent(), policy(['127.0.0.1:*']), get(other.url()));
    await bridge.close();
    expect(res.ok).toBe(true);
  });

  it('denies other hosts, IP literals not listed, userinfo, other schemes and the empty list', async () => {
    const before = other.connections;
    const { bridge } = makeBridge();
    const cases: Array<[string[], string]> = [
      [['localhost'], other.url()], // 127.0.0.1 literal is not "localhost"
      [[`localhost:${other.port}`], other.url()],
      [['127.0.0.2'], other.url()],
      [[], other.url()],
      [['127.0.0.1'], other.url()], // no port: only 80
      [['127.0.0.1:*'], `http://user:pw@127.0.0.1:${other.port}/`],
      [['127.0.0.1:*'], `ws://127.0.0.1:${other.port}/`],
      [['127.0.0.1:*'], `http://evil.example:${other.port}#@127.0.0.1/`],
    ];
    for (const [hosts, url] of cases) {
      const res = await bridge.send(makeParent(), policy(hosts), get(url));
      expect(res.ok, `${hosts.join(',')} ${url}`).toBe(false);
      if (!res.ok) expect(res.error.tag, url).toBe('denied');
    }
    await bridge.close();
    expect(other.connections).toBe(before);
  });
});
