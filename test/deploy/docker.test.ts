/**
 * The Dockerfile, read rather than built (no Docker engine in CI): Node 24 slim, the packed package
 * installed with production dependencies, a non-root user, a health check on the admin /healthz,
 * praxis-wasm as the entry point; its baked config is valid; the build context keeps the sources.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../../runtime/config/load.ts';
import { ROOT } from '../helpers/servers.ts';
import { dockerInstructions, expandArgs, type Instruction } from './manifests.ts';

const DOCKERFILE = 'deploy/docker/Dockerfile';
const all = dockerInstructions(readFileSync(`${ROOT}${DOCKERFILE}`, 'utf8'));
const lastStage = Math.max(...all.map((i) => i.stage));
const final = all.filter((i) => i.stage === lastStage);
const one = (keyword: string): Instruction | undefined => final.filter((i) => i.keyword === keyword).at(-1);

/** An exec-form (JSON array) or shell-form argument list as words. */
function words(args: string): string[] {
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
}

describe(DOCKERFILE, () => {
  it('every stage starts FROM node:24 (slim), the image that runs it included', () => {
    const froms = all.filter((i) => i.keyword === 'FROM').map((i) => expandArgs(i.args.split(/\s+/)[0]!, all));
    expect(froms.length).toBeGreaterThanOrEqual(1);
    for (const f of froms) expect(f).toMatch(/^node:24(\.\d+)*-slim$/);
  });

  it('installs the packed package with production dependencies only', () => {
    const runs = final.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    expect(runs).toMatch(/npm ci --omit=dev/);
    expect(all.some((i) => i.keyword === 'RUN' && /npm pack/.test(i.args))).toBe(true);
  });

  it('runs as a non-root user', () => {
    const user = one('USER');
    expect(user, 'a USER in the final stage').toBeDefined();
    const name = user!.args.split(':')[0]!;
    expect(['root', '0']).not.toContain(name);
    // Nothing switches back after it.
    expect(final.findIndex((i) => i === user)).toBe(final.map((i) => i.keyword).lastIndexOf('USER'));
  });

  it('checks health against /healthz on the admin port its default config uses, and exposes the ports', () => {
    const hc = one('HEALTHCHECK');
    expect(hc).toBeDefined();
    expect(hc!.args).toMatch(/\/healthz/);
    expect(hc!.args).toMatch(/CMD/);
    const env = final.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    const adminPort = Number(/PRAXIS_ADMIN_PORT=(\d+)/.exec(env)?.[1]);
    const baked = validateConfig(parseYaml(readFileSync(`${ROOT}deploy/docker/praxis.yaml`, 'utf8')), 'deploy/docker/praxis.yaml');
    expect(baked.admin?.port).toBe(adminPort);
    const exposed = final.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.split('/')[0]));
    expect(exposed).toEqual(expect.arrayContaining([baked.listen!.port!, adminPort, 9002]));
  });

  it('has praxis-wasm as its entry point, and copies the default config it names', () => {
    const entry = one('ENTRYPOINT');
    const cmd = one('CMD');
    expect([...(entry ? words(entry.args) : []), ...(cmd ? words(cmd.args) : [])].join(' ')).toMatch(/praxis-wasm/);
    const copied = final.filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args)).map((i) => words(i.args)[0]!);
    for (const src of copied) expect(existsSync(`${ROOT}${src}`), src).toBe(true);
    expect(copied).toContain('deploy/docker/praxis.yaml');
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync(`${ROOT}.dockerignore`, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

  it('keeps out build outputs and dependencies, and keeps every source the package build reads', () => {
    expect(patterns).toEqual(expect.arrayContaining(['node_modules', '.git']));
    for (const needed of ['package.json', 'package-lock.json', 'bin', 'runtime', 'scripts', 'plugins', 'sdk-assemblyscript', 'sdk-rust', 'wit', 'templates', 'docs', 'examples', 'tsconfig.json', 'tsconfig.build.json', 'deploy']) {
      expect(patterns.filter((p) => p === needed || p === `${needed}/` || p === `/${needed}`), needed).toEqual([]);
    }
  });
});
