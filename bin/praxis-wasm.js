#!/usr/bin/env node
// Plain JavaScript on purpose: it must run on any Node to say which Node it needs.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`praxis-wasm needs Node.js >= 24 (found v${process.versions.node}): filters suspend on sub-requests through WebAssembly JSPI, which Node enables from 24. Run it with \`npx praxis-wasm\` inside this package (it brings Node 24) or install Node 24.`);
  process.exit(1);
}
await import('../runtime/cli/main.ts');
