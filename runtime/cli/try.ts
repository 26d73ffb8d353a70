/**
 * `praxis-wasm try plugin.wasm`: runs one filter on a sample request (and a sample response)
 * and prints what each hook decided, what it logged and which sub-requests it made. For plugin
 * authors: no gateway, no upstream. It is the test kit's harness (runtime/testing) with a
 * printer: sub-requests a `--mock FILE` rule matches are answered by the rule, the others go
 * out through the real bridge, to the hosts named with --allow-host only.
 */
import { readFile } from 'node:fs/promises';
import type { Action } from '../component/types.ts';
import { loadFilter } from '../testing/harness.ts';
import { MockError, parseMocks, type MockRule } from '../testing/mocks.ts';

export interface TryOptions {
  config?: string;
  method: string;
  path: string;
  header: string[];
  data?: string;
  status: number;
  responseHeader: string[];
  responseBody?: string;
  allowHost: string[];
  timeoutMs: number;
  /** A JSON file: a list of { match, response | error, delayMs } (see docs/testing.md). */
  mock?: string;
}

function headerList(raw: string[]): Array<[string, string]> {
  return raw.map((h) => {
    const i = h.indexOf(':');
    if (i <= 0) throw new Error(`header "${h}" is not "name: value"`);
    return [h.slice(0, i).trim().toLowerCase(), h.slice(i + 1).trim()] as [string, string];
  });
}

/** An action as JSON-friendly data: bodies shown as text. */
function show(a: Action): unknown {
  const text = (b?: Uint8Array) => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));
  if (a.tag === 'continue') return a.mutations ? { continue: { ...a.mutations, body: text(a.mutations.body) } } : 'continue';
  if (a.tag === 'reject') return { reject: { ...a.rejection, body: text(a.rejection.body) } };
  return a.tag;
}

/** The rules of a --mock file, checked (a bad rule names the file, its index and key). */
async function mockFile(file: string): Promise<MockRule[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`--mock ${file}: ${(err as Error).message}`);
  }
  parseMocks(raw, file);
  return raw as MockRule[];
}

export async function tryCommand(file: string, opts: TryOptions): Promise<void> {
  try {
    const mocks = opts.mock ? await mockFile(opts.mock) : [];
    const filter = await loadFilter(file, { config: opts.config ?? '{}', mocks, allowHosts: opts.allowHost, timeoutMs: opts.timeoutMs });
    try {
      const r = await filter.run({
        request: { method: opts.method, path: opts.path, headers: headerList(opts.header), body: opts.data ?? '' },
        response: { status: opts.status, headers: headerList(opts.responseHeader), body: opts.responseBody ?? '' },
      });
      const steps = r.steps.map((s) => ({ hook: s.hook, decision: show(s.action) }));
      console.log(JSON.stringify({ binding: filter.binding, filter: r.filter, steps, logs: r.logs, subrequests: r.subrequests }, null, 2));
    } finally {
      await filter.close();
    }
  } catch (err) {
    console.error(err instanceof MockError ? `--mock ${(err as Error).message}` : `${file}: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
