/**
 * token-budget fed lies: negative, fractional and huge token counts (charging a negative count
 * must never refund), `usage` in a non-final SSE event, and a stream whose usage event is split at
 * every byte position. What was spent is read back from the `ratelimit` header's remaining count.
 */
import { describe, expect, it } from 'vitest';
import { useCleanup } from '../helpers/cleanup.ts';
import { pluginPath, startServer, startTestGateway, type TestGateway } from '../helpers/servers.ts';
import { sleep } from '../gateway/helpers.ts';
import { send } from '../plugins-rate-limit/helpers.ts';

const track = useCleanup();

/** An upstream answering the JSON in request header x-answer, or an SSE stream cut at x-split. */
async function upstream() {
  return track(await startServer(async (req, res) => {
    const sse = req.headers['x-sse'];
    if (typeof sse === 'string') {
      const text = Buffer.from(sse, 'base64').toString('utf8');
      const at = Number(req.headers['x-split'] ?? text.length);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(text.slice(0, at));
      await sleep(3);
      res.end(text.slice(at));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(String(req.headers['x-answer'] ?? '{}'));
  }));
}

async function gateway(url: string, budget: number): Promise<TestGateway> {
  return track(await startTestGateway({
    plugins: { tb: { path: pluginPath('token-budget'), config: { budget, windowSeconds: 3600, keyFrom: 'header', keyName: 'x-tenant' } } },
    upstreams: { up: { endpoints: [url] } },
    routes: [{ name: 'main', upstream: 'up', filters: ['tb'] }],
  }));
}

/** The budget left before this request (`r=` of its ratelimit header), and its status. */
async function spend(gw: TestGateway, tenant: string, headers: Record<string, string>): Promise<{ status: number; left: number }> {
  const r = await send(`${gw.url}/v1/chat/completions`, { 'x-tenant': tenant, ...headers }, '{}');
  const left = /;r=(-?\d+)/.exec(String(r.headers['ratelimit']))?.[1];
  return { status: r.status, left: Number(left) };
}

const usage = (u: Record<string, number | undefined>) => ({ 'x-answer': JSON.stringify({ id: 'x', usage: u }) });

describe('token-budget fed lies', () => {
  it('negative counts never refund; a huge count spends the budget; fractions do not crash', async () => {
    const up = await upstream();
    const gw = await gateway(up.url, 1000);
    expect((await spend(gw, 't', usage({ total_tokens: 600 }))).status).toBe(200);
    for (const lie of [{ total_tokens: -600 }, { prompt_tokens: -1e6, completion_tokens: 5 }, { total_tokens: -1, prompt_tokens: -900, completion_tokens: 0 }, { total_tokens: 0.5 }]) {
      expect((await spend(gw, 't', usage(lie))).status).toBe(200);
    }
    const after = await spend(gw, 't', usage({ total_tokens: 1 }));
    expect(after.left).toBeLessThanOrEqual(400); // 600 spent, never less
    for (const huge of [{ total_tokens: 1e30 }, { total_tokens: 9.3e18 }, { prompt_tokens: 9e18, completion_tokens: 9e18 }]) {
      const r = await spend(gw, `big-${JSON.stringify(huge)}`, usage(huge));
      expect(r.status).toBe(200);
      // The count is past any budget: the next request of that key is refused.
      expect((await spend(gw, `big-${JSON.stringify(huge)}`, usage({ total_tokens: 1 }))).status).toBe(429);
    }
    expect((await spend(gw, 'fresh', usage({ total_tokens: 1 }))).status).toBe(200);
  });

  it('an SSE stream split at every byte position is charged the same; usage in a non-final event counts', async () => {
    const up = await upstream();
    const gw = await gateway(up.url, 1_000_000);
    const events = 'data: {"choices":[{"delta":{"content":"hi \\"usage\\": {}"}}]}\n\n'
      + 'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}\n\n'
      + 'data: [DONE]\n\n';
    const sse = Buffer.from(events).toString('base64');
    let expected = 1_000_000;
    for (let at = 1; at < events.length; at += 3) {
      const r = await spend(gw, 'split', { 'x-sse': sse, 'x-split': String(at) });
      expect(r.status).toBe(200);
      expect(r.left, `split at ${at}`).toBe(expected);
      expected -= 7;
    }
  });
});
