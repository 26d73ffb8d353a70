/** The two-backend config the upstream-phase suites share: the route phase, then per-attempt filters. */
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { anthropicAuth, openaiAuth, translate } from '../ai-gateway/helpers.ts';
import { testkit } from '../gateway/helpers.ts';

export const ASK = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'ping' }] });

/** Two backends behind one upstream: OpenAI first (its bearer token), Anthropic second (translated, its key). */
export function twoBackends(primary: string, secondary: string): GatewayConfig {
  return {
    plugins: {
      r: testkit({ name: 'r', logHooks: true }),
      c: testkit({ name: 'c', contextCounter: true }),
      e: testkit({ name: 'e', echo: true }),
      'openai-auth': openaiAuth(),
      translate: translate(),
      'anthropic-auth': anthropicAuth(),
    },
    upstreams: {
      llm: {
        backends: [
          { name: 'openai', endpoints: [primary], priority: 0, upstreamFilters: ['c', 'e', 'openai-auth'] },
          { name: 'anthropic', envoyCluster: 'anthropic-cluster', endpoints: [secondary], priority: 1, upstreamFilters: ['c', 'translate', 'anthropic-auth'] },
        ],
      },
    },
    routes: [{ name: 'chat', upstream: 'llm', retries: 1, filters: ['r', 'c'], timeoutMs: 10_000 }],
  };
}

