/**
 * The cluster primary's admin view of its workers: `/plugins` asks every ready worker over IPC
 * (each loads its own plugins and pools), and a worker reports ready once its pools are warm.
 */
import type { Worker } from 'node:cluster';
import type { PluginView } from '../gateway/admin-views.ts';
import type { Gateway } from '../gateway/gateway.ts';

/** A worker's answer to the primary's `plugins?` question. */
export interface PluginsQuery { type: 'plugins'; id: number; plugins: PluginView[] }

interface PluginsAsk { type: 'plugins?'; id: number }

/** A worker that does not answer this soon is reported as such rather than holding the request. */
const ANSWER_MS = 2_000;

let nextId = 0;

function ask(worker: Worker): Promise<{ pid: number | undefined; plugins: PluginView[] | null }> {
  const id = ++nextId;
  const pid = worker.process.pid;
  return new Promise((resolve) => {
    const done = (plugins: PluginView[] | null) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      resolve({ pid, plugins });
    };
    const onMessage = (m: PluginsQuery | { type: string }) => {
      if (m.type === 'plugins' && (m as PluginsQuery).id === id) done((m as PluginsQuery).plugins);
    };
    const timer = setTimeout(() => done(null), ANSWER_MS);
    worker.on('message', onMessage);
    worker.send({ type: 'plugins?', id } satisfies PluginsAsk);
  });
}

/** `/plugins` in a cluster: one entry per worker, `plugins: null` for a worker that did not answer. */
export async function askWorkers(workers: Worker[]): Promise<{ workers: Array<{ pid: number | undefined; plugins: PluginView[] | null }> }> {
  return { workers: await Promise.all(workers.map(ask)) };
}

export function answerPluginQueries(gateway: Gateway): void {
  process.on('message', (m: PluginsAsk | { type: string }) => {
    if (m.type === 'plugins?') process.send?.({ type: 'plugins', id: (m as PluginsAsk).id, plugins: gateway.plugins() } satisfies PluginsQuery);
  });
}

/** Resolves once the worker's gateway is ready (listening, every pool holding its minimum). */
export async function workerReady(gateway: Gateway): Promise<void> {
  while (!gateway.readiness().ready) await new Promise((r) => setTimeout(r, 20));
}
