/**
 * The undici Agents sub-requests run on: one per distinct set of explicitly allowed addresses.
 * A pooled connection was checked against the rules of the Agent that opened it, so it must
 * never carry a request of a plugin with narrower rules: plugins share connections only when
 * their address rules are the same (in practice most have none and share one Agent).
 */
import { Agent } from 'undici';
import type { CompiledAllowList } from './allow-list.ts';
import { guardedConnector, type HostResolver } from './address-guard.ts';

export interface OutboundAgentOptions {
  agent: Agent.Options;
  connectTimeoutMs: number;
  resolve: HostResolver;
}

export class OutboundAgents {
  readonly #options: OutboundAgentOptions;
  readonly #agents = new Map<string, Agent>();

  constructor(options: OutboundAgentOptions) {
    this.#options = options;
  }

  for(list: CompiledAllowList): Agent {
    let agent = this.#agents.get(list.connectKey);
    if (agent === undefined) {
      const connect = guardedConnector({ rules: list.connectable, connectTimeoutMs: this.#options.connectTimeoutMs, resolve: this.#options.resolve });
      agent = new Agent({ ...this.#options.agent, connect });
      this.#agents.set(list.connectKey, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#agents.values()].map((a) => a.close()));
  }
}
