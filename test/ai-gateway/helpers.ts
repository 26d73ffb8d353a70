/** Shared by the AI-gateway suites: the fake providers, the two plugins' entries, an OpenAI client. */
import OpenAI from 'openai';
import type { PluginConfig } from '../../runtime/config/types.ts';
import { pluginPath } from '../helpers/servers.ts';

export const OPENAI_KEY = 'sk-openai-test-key';
export const ANTHROPIC_KEY = 'sk-ant-test-key';

export function translate(config: Record<string, unknown> = {}): PluginConfig {
  return { path: pluginPath('provider-translate'), config: { models: { 'gpt-4o-mini': 'claude-3-5-haiku-latest' }, ...config } };
}

export function anthropicAuth(credential = ANTHROPIC_KEY): PluginConfig {
  return { path: pluginPath('upstream-auth'), config: { header: 'x-api-key', credential, setHeaders: { 'anthropic-version': '2023-06-01' } } };
}

export function openaiAuth(credential = OPENAI_KEY): PluginConfig {
  return { path: pluginPath('upstream-auth'), config: { credential } };
}

/** The real OpenAI client, pointed at the gateway; no retries of its own (the gateway's are under test). */
export function client(gatewayUrl: string, apiKey = 'client-key'): OpenAI {
  return new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
}

export const ASK = { model: 'gpt-4o-mini', messages: [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'ping pong' }] };
