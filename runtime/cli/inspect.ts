import { readFile } from 'node:fs/promises';
import { loadComponent } from '../component/loader.ts';
import { CONFIG_SCHEMA_SECTION, readConfigSchema } from '../component/plugin-schema.ts';
import { coreExports, coreImports, coreModulesOfComponent } from '../component/wasm-binary.ts';

export async function inspectCommand(file: string): Promise<void> {
  try {
    const loaded = await loadComponent(file);
    const bytes = await readFile(file);
    console.log(`${file}: ${loaded.bytes} bytes, sha256 ${loaded.sha256}, praxis:filter@${loaded.version}`);
    console.log(`binding: ${loaded.factory.binding}${loaded.fastPathObstacle ? ` (fast path not taken: it ${loaded.fastPathObstacle})` : ''}`);
    coreModulesOfComponent(bytes).forEach((m, i) => {
      console.log(`core module ${i}: ${m.length} bytes, ${coreImports(m).length} imports, ${coreExports(m).length} exports`);
    });
    console.log(loaded.wit.trim());
    console.log(describeSchema(readConfigSchema(bytes)));
  } catch (err) {
    console.error(`${file}: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

/** The embedded config schema, pretty-printed; shown as is when it is not JSON (gateways refuse it). */
function describeSchema(text: string | undefined): string {
  if (text === undefined) return 'config schema: none (plugins.<name>.config is not checked at load)';
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    shown += '\n(not JSON: a gateway refuses to load this plugin)';
  }
  return `config schema (${CONFIG_SCHEMA_SECTION}):\n${shown}`;
}
