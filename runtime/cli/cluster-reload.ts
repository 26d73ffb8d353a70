/**
 * Reload across a cluster: the primary (on SIGHUP or the file watch) asks every worker over IPC;
 * each reloads its own gateway from the config file and answers with its outcome, which the
 * primary logs per worker (pid, version, error) with a summary line.
 */
import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Gateway } from '../gateway/gateway.ts';
import type { ReloadOutcome } from '../gateway/reload.ts';
import { configFromFile } from './reload-signal.ts';

interface ReloadAsk { type: 'reload'; id: number }

/** A worker's answer to the primary's `reload` request. */
export interface ReloadAnswer { type: 'reloaded'; id: number; outcome: ReloadOutcome }

/** Loading and warming every plugin can take a while; past this a worker is reported as silent. */
const ANSWER_MS = 120_000;

let nextId = 0;

export interface WorkerReload { pid: number | undefined; outcome: ReloadOutcome | null }

function ask(worker: Worker): Promise<WorkerReload> {
  const id = ++nextId;
  const pid = worker.process.pid;
  return new Promise((resolve) => {
    const done = (outcome: ReloadOutcome | null) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      resolve({ pid, outcome });
    };
    const onMessage = (m: { type: string }) => {
      if (m.type === 'reloaded' && (m as ReloadAnswer).id === id) done((m as ReloadAnswer).outcome);
    };
    const onExit = () => done(null);
    const timer = setTimeout(() => done(null), ANSWER_MS);
    worker.on('message', onMessage);
    worker.once('exit', onExit);
    worker.send({ type: 'reload', id } satisfies ReloadAsk);
  });
}

/** Asks every worker to reload; logs one line per worker and a summary; resolves with the outcomes. */
export async function reloadWorkers(workers: Worker[], logger: Logger): Promise<WorkerReload[]> {
  const results = await Promise.all(workers.map(ask));
  for (const { pid, outcome } of results) {
    if (outcome === null) logger.error({ pid }, 'reload: worker did not answer');
    else if (outcome.ok) logger.info({ pid, version: outcome.version, ms: outcome.ms, needsRestart: outcome.needsRestart }, `reload: worker ${pid} now serves version ${outcome.version}`);
    else logger.error({ pid, version: outcome.version, error: outcome.error }, `reload: worker ${pid} failed, keeps version ${outcome.version}: ${outcome.error}`);
  }
  const ok = results.filter((r) => r.outcome?.ok).length;
  (ok === results.length ? logger.info.bind(logger) : logger.error.bind(logger))({ ok, workers: results.length }, `reload: ${ok}/${results.length} workers reloaded`);
  return results;
}

/** Worker side: reload from the config file when the primary asks. */
export function answerReloads(gateway: Gateway, configPath: string): void {
  process.on('message', (m: { type: string }) => {
    if (m.type !== 'reload') return;
    const { id } = m as ReloadAsk;
    void gateway.reload(configFromFile(configPath)).then((outcome) => process.send?.({ type: 'reloaded', id, outcome } satisfies ReloadAnswer));
  });
}
