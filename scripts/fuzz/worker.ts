/**
 * The fuzz child process: runs the cases its supervisor sends, one at a time, and reports each.
 * A case that hangs or crashes takes only this process down; the supervisor notices, names the
 * case, and starts a fresh one.
 */
import { readFileSync } from 'node:fs';
import { type CaseReport, type FuzzTarget, runCase } from './run-case.ts';

export type ToWorker =
  | { type: 'init'; seed: number; targets: FuzzTarget[]; cacheDir: string }
  | { type: 'case'; index: number };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'started'; index: number; target: string; what: string }
  | { type: 'done'; report: CaseReport };

let init: Extract<ToWorker, { type: 'init' }> | undefined;
let originals: Uint8Array[] = [];
const send = (m: FromWorker): void => { process.send!(m); };

process.on('message', (m: ToWorker) => {
  if (m.type === 'init') {
    init = m;
    originals = m.targets.map((t) => new Uint8Array(readFileSync(t.path)));
    send({ type: 'ready' });
    return;
  }
  const { seed, targets, cacheDir } = init!;
  void runCase(seed, m.index, targets, originals, cacheDir, (target, what) => send({ type: 'started', index: m.index, target, what }))
    .then((report) => send({ type: 'done', report }));
});
process.on('disconnect', () => process.exit(0));
