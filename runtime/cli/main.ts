/** The `praxis-wasm` command: run a gateway, build a plugin, inspect a component. */
import { Command, InvalidArgumentError } from 'commander';
import { runCommand } from './run.ts';
import { buildCommand } from './build.ts';
import { inspectCommand } from './inspect.ts';
import { listenProblem } from './listen-error.ts';
import { packageVersion } from '../package-root.ts';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}

function workers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError('expected a number of workers, 1-256');
  return n;
}

const program = new Command()
  .name('praxis-wasm')
  .description('A gateway that runs HTTP filters shipped as WebAssembly components')
  .version(packageVersion(), '-V, --version', 'print the version of praxis-wasm');

program.command('run')
  .description('run the gateway (with no --config: a built-in demo with bundled plugins and a demo upstream)')
  .option('-c, --config <file>', 'gateway config (YAML)')
  .option('-p, --port <port>', 'listen port (overrides listen.port)', port)
  .option('--host <host>', 'listen address (overrides listen.host)')
  .option('-w, --workers <n>', 'gateway processes sharing the port, one per core (needs --config)', workers, 1)
  .option('--watch-config', 'reload when the config file or a plugin file it names changes (SIGHUP always reloads)')
  .action(runCommand);

program.command('extproc')
  .description('serve the config\'s routes and plugins as an Envoy external processor (gRPC ext_proc, with grpc.health.v1)')
  .requiredOption('-c, --config <file>', 'gateway config (YAML): plugins, routes, upstreams; extproc.port/host')
  .option('-p, --port <port>', 'gRPC listen port (overrides extproc.port, default 9002)', port)
  .option('--host <host>', 'listen address (overrides extproc.host, default 127.0.0.1)')
  .option('--watch-config', 'reload when the config file or a plugin file it names changes (SIGHUP always reloads)')
  .action(async (opts: import('./extproc.ts').ExtProcCliOptions) => {
    const { extprocCommand } = await import('./extproc.ts');
    await extprocCommand(opts);
  });

program.command('build')
  .description('build a plugin folder (AssemblyScript or Rust) into <dir>/dist/<name>.wasm')
  .argument('<dir>', 'plugin folder')
  .option('-f, --force', 'rebuild even if nothing changed')
  .action(buildCommand);

program.command('inspect')
  .description("show a component's world, core modules, sizes and which binding runs it")
  .argument('<file>', 'component .wasm')
  .action(inspectCommand);

const collect = (value: string, previous: string[]): string[] => [...previous, value];

program.command('try')
  .description('run one filter on a sample request and response; print each hook\'s decision, its logs and sub-requests')
  .argument('<file>', 'component .wasm')
  .option('-c, --config <json>', "the plugin's config, as JSON text", '{}')
  .option('-X, --method <method>', 'request method', 'GET')
  .option('--path <path>', 'request path', '/')
  .option('-H, --header <header>', 'request header "name: value" (repeatable)', collect, [])
  .option('-d, --data <body>', 'request body')
  .option('--status <status>', 'response status', (v: string) => Number(v), 200)
  .option('--response-header <header>', 'response header "name: value" (repeatable)', collect, [])
  .option('--response-body <body>', 'response body')
  .option('--allow-host <host>', 'a host sub-requests may reach (repeatable; default none)', collect, [])
  .option('--timeout-ms <ms>', 'deadline for the whole try, sub-requests included', (v: string) => Number(v), 10_000)
  .option('--mock <file>', 'JSON list of sub-request answers, {match, response | error, delayMs}; the rest go out for real')
  .action(async (file: string, opts: Parameters<typeof import('./try.ts')['tryCommand']>[1]) => {
    const { tryCommand } = await import('./try.ts');
    await tryCommand(file, opts);
  });

program.command('new')
  .description('create a plugin folder: a filter, its tests, config schema, README and a gateway config')
  .argument('<name>', 'plugin name (lower case, digits, dashes); the folder is created at that path')
  .requiredOption('-l, --lang <lang>', 'rust or assemblyscript')
  .option('--subrequest', 'a filter that asks a service (a mocked sub-request in its tests)')
  .option('--sdk-path <path>', 'build against a local SDK (folder, or a packed .tgz for AssemblyScript) instead of the published one')
  .action(async (name: string, opts: import('./new.ts').NewOptions) => {
    const { newCommand } = await import('./new.ts');
    await newCommand(name, opts);
  });

program.command('demo-upstream')
  .description('run the demo upstream alone (echoes requests as JSON; SSE on /v1/chat/completions), or a fake LLM provider')
  .option('-p, --port <port>', 'listen port', port, 9000)
  .option('--provider <kind>', 'a fake provider instead: openai (Chat Completions) or anthropic (Messages)')
  .option('--fail <mode>', 'with --provider: 503 (answer every request 503) or refuse (drop connections)', 'none')
  .option('--api-key <key>', 'with --provider: the only key accepted (default: any)')
  .action(async (opts: { port: number; provider?: string; fail: string; apiKey?: string }) => {
    const { startDemoUpstream } = await import('../demo/upstream.ts');
    const { startFakeProvider } = await import('../demo/providers.ts');
    if (opts.provider !== undefined && opts.provider !== 'openai' && opts.provider !== 'anthropic') {
      console.error(`praxis-wasm demo-upstream: --provider must be openai or anthropic, not "${opts.provider}"`);
      process.exit(2);
    }
    if (opts.fail !== 'none' && opts.fail !== '503' && opts.fail !== 'refuse') {
      console.error(`praxis-wasm demo-upstream: --fail must be 503 or refuse, not "${opts.fail}"`);
      process.exit(2);
    }
    try {
      const u = opts.provider
        ? await startFakeProvider({ provider: opts.provider, port: opts.port, fail: opts.fail, ...(opts.apiKey ? { apiKey: opts.apiKey } : {}) })
        : await startDemoUpstream(opts.port);
      console.error(`${opts.provider ? `fake ${opts.provider} provider` : 'demo upstream'} on ${u.url}${opts.fail !== 'none' ? ` (failing: ${opts.fail})` : ''}`);
    } catch (err) {
      console.error(`praxis-wasm demo-upstream: cannot listen: ${listenProblem(err) ?? (err as Error).message}`);
      process.exit(1);
    }
  });

await program.parseAsync(process.argv);
