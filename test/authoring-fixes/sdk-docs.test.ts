/** The Rust SDK's README documents every builder method the SDK defines, with its signature. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/servers.ts';

const BUILDERS = ['FilterInfo', 'Mutations', 'Rejection', 'Subrequest', 'Headers'];

/** `pub fn` names of `impl <type> { ... }` in the source (top-level impl blocks, no nesting). */
function methodsOf(source: string, type: string): string[] {
  const start = source.indexOf(`\nimpl ${type} {`);
  if (start < 0) return [];
  const end = source.indexOf('\n}\n', start);
  return [...source.slice(start, end).matchAll(/pub fn (\w+)/g)].map((m) => m[1]!);
}

describe('sdk-rust README', () => {
  it('lists every constructor and setter of every builder', async () => {
    const types = await readFile(join(ROOT, 'sdk-rust', 'src', 'types.rs'), 'utf8');
    const readme = await readFile(join(ROOT, 'sdk-rust', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Builders'), readme.indexOf('\n## ', readme.indexOf('## Builders') + 1));
    expect(section.length).toBeGreaterThan(100);
    for (const type of BUILDERS) {
      const methods = methodsOf(types, type);
      expect(methods.length, type).toBeGreaterThan(0);
      const row = section.split('\n').find((l) => l.startsWith(`| \`${type}\``)) ?? '';
      for (const m of methods) expect(row, `${type}::${m}`).toMatch(new RegExp(`\\b${m}\\(`));
    }
  });
});
