/**
 * Runs fuzz cases in a child process and watches it: a case that outlives its timeout is a hang,
 * a child that dies mid-case is a crash, a child whose resident memory passes the bound is
 * stopped. Each is reported with its seed and case index, then a fresh child takes the next case.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CaseReport, EXPECTED_KINDS, type FuzzTarget } from './run-case.ts';
import type { FromWorker, ToWorker } from './worker.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface FuzzOptions {
  seed: number;
  /** Case indexes to run (a run is `0..cases-1`; a replay names one). */
  indexes: number[];
  targets: FuzzTarget[];
  caseTimeoutMs: number;
  /** Hard bound on the child's resident memory: past it the child is stopped and the case fails. */
  rssLimitBytes: number;
  /** Bound on what one case may add to the child's resident memory at rest (a 30 KB plugin never needs 512 MiB). */
  rssGrowthLimitBytes: number;
  /** A fresh child after this many cases, so one case's leftovers never colour the next hundred. */
  recycleEvery?: number;
  onCase?: (r: CaseReport, finding: string | undefined) => void;
}

export interface FuzzSummary {
  seed: number;
  reports: CaseReport[];
  findings: CaseReport[];
  byOutcome: Record<string, number>;
  maxRss: number;
  slowest?: CaseReport;
}

/** The bundled plugins and the testkit fixture, each with a config its configure accepts. */
export function defaultTargets(): FuzzTarget[] {
  const p = (n: string) => `${ROOT}plugins/${n}/dist/${n}.wasm`;
  const routes = JSON.stringify({ routes: { 'gpt-4': 'a' }, default: 'b' });
  return [
    { label: 'testkit', path: `${ROOT}test/fixtures/testkit/dist/testkit.wasm`, config: JSON.stringify({ order: true, setRequestHeader: ['x-a', '1'] }) },
    { label: 'header-router', path: p('header-router'), config: routes },
    { label: 'header-router-rust', path: p('header-router-rust'), config: routes },
    { label: 'request-headers', path: p('request-headers'), config: JSON.stringify({ set: { 'x-g': 'p' }, remove: ['x-drop'], requestId: 'x-request-id', serverTiming: true }) },
    { label: 'deny-list', path: p('deny-list'), config: JSON.stringify({ patterns: ['jailbreak'], maxBytes: 65536 }) },
    { label: 'guardrail', path: p('guardrail'), config: JSON.stringify({ scannerUrl: 'http://127.0.0.1:9/scan' }) },
    { label: 'semantic-cache', path: p('semantic-cache'), config: JSON.stringify({ cacheUrl: 'http://127.0.0.1:9', timeoutMs: 300 }) },
    { label: 'pd-disagg', path: p('pd-disagg'), config: JSON.stringify({ prefill: ['http://127.0.0.1:9'], decodeUpstream: 'decode', timeoutMs: 500 }) },
  ];
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

class Child {
  readonly proc: ChildProcess;
  readonly ready: Promise<void>;
  stderrTail = '';
  /** Resident memory once the child is up and idle: what a case's peak is measured against. */
  baseRss = 0;
  private listener: ((m: FromWorker) => void) | undefined;
  private exitListener: ((why: string) => void) | undefined;
  exited: string | undefined;

  constructor(init: ToWorker) {
    this.proc = fork(join(ROOT, 'scripts/fuzz/worker.ts'), [], { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.proc.stderr!.on('data', (d: Buffer) => { this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-2000); });
    this.proc.on('message', (m: FromWorker) => this.listener?.(m));
    this.proc.on('exit', (code, signal) => {
      this.exited = signal ?? `exit ${code}`;
      this.exitListener?.(this.exited);
    });
    this.ready = new Promise<void>((resolve, reject) => {
      this.listener = (m) => {
        if (m.type !== 'ready') return;
        this.baseRss = rssOf(this.proc.pid!);
        resolve();
      };
      this.exitListener = (why) => reject(new Error(`fuzz worker died while starting (${why}): ${this.stderrTail}`));
    });
    this.proc.send(init);
  }

  /** Runs one case; resolves with its report, or with a hang/crash/rss report made here. */
  run(index: number, opts: FuzzOptions): Promise<CaseReport> {
    const t0 = performance.now();
    let target = '?';
    let what = '?';
    let peak = 0;
    return new Promise<CaseReport>((resolve) => {
      const finish = (outcome: string, detail?: string): void => {
        clearTimeout(timer);
        clearInterval(watch);
        resolve({ index, target, what, outcome, ...(detail ? { detail } : {}), ms: Math.round(performance.now() - t0), peakRss: peak, baseRss: this.baseRss });
      };
      const timer = setTimeout(() => {
        this.proc.kill('SIGKILL');
        finish('hang', `no answer within ${opts.caseTimeoutMs} ms`);
      }, opts.caseTimeoutMs);
      const watch = setInterval(() => {
        peak = Math.max(peak, rssOf(this.proc.pid!));
        if (peak > opts.rssLimitBytes) {
          this.proc.kill('SIGKILL');
          finish('rss-limit', `resident memory reached ${Math.round(peak / 2 ** 20)} MiB`);
        }
      }, 50);
      this.listener = (m) => {
        if (m.type === 'started') ({ target, what } = m);
        if (m.type === 'done') {
          clearTimeout(timer);
          clearInterval(watch);
          resolve({ ...m.report, peakRss: Math.max(peak, m.report.peakRss), baseRss: this.baseRss });
        }
      };
      this.exitListener = (why) => finish('crash', `worker ended (${why}): ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
      this.proc.send({ type: 'case', index } satisfies ToWorker);
    });
  }

  stop(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }
}

/** Why a case is a finding (an outcome that is not a typed refusal, or memory past a bound), or undefined. */
export function findingOf(r: CaseReport, opts: Pick<FuzzOptions, 'rssLimitBytes' | 'rssGrowthLimitBytes'>): string | undefined {
  const MiB = 2 ** 20;
  if (!EXPECTED_KINDS.has(r.outcome.split(':')[0]!)) return r.outcome;
  if (r.peakRss > opts.rssLimitBytes) return `resident memory ${Math.round(r.peakRss / MiB)} MiB`;
  const grew = r.peakRss - (r.baseRss ?? 0);
  if (grew > opts.rssGrowthLimitBytes) return `the case added ${Math.round(grew / MiB)} MiB of resident memory`;
  return undefined;
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzSummary> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'praxis-fuzz-'));
  const init: ToWorker = { type: 'init', seed: opts.seed, targets: opts.targets, cacheDir };
  const reports: CaseReport[] = [];
  let child: Child | undefined;
  let ran = 0;
  try {
    for (const index of opts.indexes) {
      if (!child || child.exited || ran >= (opts.recycleEvery ?? 100)) {
        child?.stop();
        child = new Child(init);
        await child.ready;
        ran = 0;
      }
      const r = await child.run(index, opts);
      ran++;
      // Memory a case took may stay resident after it: the next case gets a fresh child, so
      // its peak is its own.
      if (r.peakRss - child.baseRss > opts.rssGrowthLimitBytes / 4) ran = Number.POSITIVE_INFINITY;
      reports.push(r);
      opts.onCase?.(r, findingOf(r, opts));
    }
  } finally {
    child?.stop();
    rmSync(cacheDir, { recursive: true, force: true });
  }
  const byOutcome: Record<string, number> = {};
  for (const r of reports) byOutcome[r.outcome] = (byOutcome[r.outcome] ?? 0) + 1;
  const slowest = reports.reduce<CaseReport | undefined>((a, r) => (!a || r.ms > a.ms ? r : a), undefined);
  return {
    seed: opts.seed, reports, byOutcome, ...(slowest ? { slowest } : {}),
    findings: reports.filter((r) => findingOf(r, opts) !== undefined),
    maxRss: reports.reduce((m, r) => Math.max(m, r.peakRss), 0),
  };
}
