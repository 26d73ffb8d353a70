/** Shared pieces of the reload suites: two configs that answer differently, and a load generator. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';
import type { GatewayConfig } from '../../runtime/config/types.ts';
import { oneRoute, testkit } from '../gateway/helpers.ts';

/**
 * A gateway config whose one filter marks both directions with `version`: the request header
 * (set by the request hook, echoed back by the upstream) and the response header (set by the
 * response hook, so it proves which pipeline finished the exchange).
 */
export function versioned(version: string, upstream: string, extra: Partial<GatewayConfig> = {}): GatewayConfig {
  const plugin = testkit({ name: `mark-${version}`, setRequestHeader: ['x-version', version], setResponseHeader: ['x-version-out', version] });
  return { ...oneRoute({ mark: plugin }, ['mark'], { up: upstream }), ...extra };
}

export function writeYaml(dir: string, name: string, config: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof config === 'string' ? config : stringify(config));
  return path;
}

export interface Answer { status: number; version: string | undefined; out: string | undefined }

export async function ask(url: string): Promise<Answer> {
  const res = await request(url);
  const body = await res.body.text();
  const echoed = res.statusCode === 200 ? (JSON.parse(body) as { headers: Record<string, string> }).headers['x-version'] : undefined;
  const out = res.headers['x-version-out'];
  return { status: res.statusCode, version: echoed, out: typeof out === 'string' ? out : undefined };
}

export interface Load {
  /** Stops the loops and resolves with every request's outcome. */
  stop(): Promise<{ ok: number; failed: string[]; versions: Set<string> }>;
  readonly done: () => number;
}

/** `concurrency` loops of keep-alive requests to `url`, each failure (status or error) recorded. */
export function startLoad(url: string, concurrency = 8): Load {
  let running = true;
  let ok = 0;
  const failed: string[] = [];
  const versions = new Set<string>();
  const loop = async () => {
    while (running) {
      try {
        const a = await ask(url);
        // A pair that disagrees would mean an exchange switched versions half-way.
        if (a.status !== 200 || a.version === undefined || a.version !== a.out) failed.push(`status ${a.status}, version ${a.version}/${a.out}`);
        else {
          ok++;
          versions.add(a.version);
        }
      } catch (err) {
        failed.push((err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    done: () => ok,
    async stop() {
      running = false;
      await Promise.all(loops);
      return { ok, failed, versions };
    },
  };
}
