import { resolve } from 'node:path';
import { buildPlugin } from '../../scripts/build-plugins.ts';

export async function buildCommand(dir: string, opts: { force?: boolean }): Promise<void> {
  try {
    const out = await buildPlugin(resolve(dir), { force: opts.force ?? false });
    console.log(out);
  } catch (err) {
    console.error(`build failed: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
