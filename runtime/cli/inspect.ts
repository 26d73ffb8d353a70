import { readFile } from 'node:fs/promises';
import { loadComponent } from '../component/loader.ts';
import { coreExports, coreImports, coreModulesOfComponent } from '../component/wasm-binary.ts';

export async function inspectCommand(file: string): Promise<void> {
  try {
    const loaded = await loadComponent(file);
    const bytes = await readFile(file);
    console.log(`${file}: ${loaded.bytes} bytes, sha256 ${loaded.sha256}`);
    console.log(`binding: ${loaded.factory.binding}${loaded.fastPathObstacle ? ` (fast path not taken: it ${loaded.fastPathObstacle})` : ''}`);
    coreModulesOfComponent(bytes).forEach((m, i) => {
      console.log(`core module ${i}: ${m.length} bytes, ${coreImports(m).length} imports, ${coreExports(m).length} exports`);
    });
    console.log(loaded.wit.trim());
  } catch (err) {
    console.error(`${file}: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
