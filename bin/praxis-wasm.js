#!/usr/bin/env node
// Plain JavaScript on purpose: it must run on any Node to say which Node it needs.
// In a checkout it runs the TypeScript sources (Node 24 strips the types); an installed package
// has no sources, only the compiled dist/ (Node does not strip types under node_modules).
import { existsSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const source = new URL('../runtime/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/runtime/cli/main.js', import.meta.url);
const checkout = existsSync(source);

/** `arg` as one shell word. */
function quote(arg) {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** A command that runs these same arguments on Node 24, for where this was started from. */
function withNode24(args) {
  const words = args.map(quote);
  if (checkout) {
    // npm's scripts find the Node 24 that `npm ci` installs (devDependency `node`); npx inside
    // the checkout is not suggested: before `npm ci` it leaves a broken entry in npm's cache.
    const installed = existsSync(new URL('../node_modules/.bin/node', import.meta.url));
    const command = args[0] === 'run'
      ? `npm start${words.length > 1 ? ` -- ${words.slice(1).join(' ')}` : ''}`
      : `npm run cli${words.length ? ` -- ${words.join(' ')}` : ''}`;
    return installed ? command : `npm ci && ${command}`;
  }
  // Installed: npx fetches (or takes from npm's cache) the `node` package, whose `node` is Node 24.
  const bin = fileURLToPath(import.meta.url);
  const rel = relative(process.cwd(), bin);
  const path = rel.startsWith('..') || rel.startsWith(sep) ? bin : rel;
  return ['npx', '-y', 'node@24', quote(path), ...words].join(' ');
}

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`praxis-wasm needs Node.js >= 24 (found v${process.versions.node}): filters suspend on sub-requests through WebAssembly JSPI, which Node enables from 24. Run it with Node 24: ${withNode24(process.argv.slice(2))}`);
  process.exit(1);
}
await import(checkout ? source.href : compiled.href);
