/**
 * The restricted WASI 0.2 a plugin gets when it imports WASI (e.g. one made by componentize-js,
 * whose StarlingMonkey engine imports clocks, random, stdio and filesystem unconditionally).
 * SDK-built filters import none of it and never see this file.
 *
 * Only random comes from @bytecodealliance/preview2-shim: its random module is plain
 * node:crypto. Its clocks, io and cli modules are not used: they load the shim's io worker
 * (a worker thread spawned on import, every stream write and pollable a synchronous
 * Atomics.wait round trip to it, so a pollable's `block` stalls the gateway's event loop),
 * and its cli/filesystem/sockets defaults hand over the host's environment, args, cwd, files
 * and network. Everything else is implemented here, per instance.
 *
 * jco's glue (instantiation 'async') reads these under versionless keys ('wasi:io/poll'), so
 * one implementation serves every 0.2.x a component names.
 */
import { insecure, insecureSeed, random } from '@bytecodealliance/preview2-shim/random';
import type { LogLevel } from './types.ts';

export interface WasiInterfaceRule {
  /** 'provided': implemented below; 'refused': a component importing it does not load. */
  status: 'provided' | 'refused';
  reason: string;
}

/**
 * Every WASI interface a plugin may import, and the families refused outright. checkWorld
 * accepts `wasi:<pkg>/<iface>@0.2.x` exactly for the 'provided' keys.
 */
export const WASI_INTERFACES: Record<string, WasiInterfaceRule> = {
  'wasi:clocks/monotonic-clock': { status: 'provided', reason: 'time measurement (performance.now); subscribe-* pollables never block (see wasi:io/poll)' },
  'wasi:clocks/wall-clock': { status: 'provided', reason: 'the current time (Date.now); the host clock is not a secret' },
  'wasi:random/random': { status: 'provided', reason: 'crypto.getRandomValues; node:crypto via preview2-shim' },
  'wasi:random/insecure': { status: 'provided', reason: 'Math.random; node:crypto via preview2-shim' },
  'wasi:random/insecure-seed': { status: 'provided', reason: 'hash-table seeds; node:crypto via preview2-shim' },
  'wasi:io/error': { status: 'provided', reason: 'error resource of the streams below' },
  'wasi:io/streams': { status: 'provided', reason: 'carrier of stdout/stderr (and the empty stdin); no other stream exists' },
  'wasi:io/poll': { status: 'provided', reason: 'streams are always ready; a clock pollable not yet due traps instead of blocking the gateway thread' },
  'wasi:cli/stdout': { status: 'provided', reason: 'console.log: line-buffered into the plugin\'s log (info), bounded per hook call' },
  'wasi:cli/stderr': { status: 'provided', reason: 'console.error and uncaught errors: into the plugin\'s log (warn), bounded per hook call' },
  'wasi:cli/stdin': { status: 'provided', reason: 'an empty, closed stream' },
  'wasi:cli/environment': { status: 'provided', reason: 'no variables, no arguments, no cwd: the gateway\'s environment holds its secrets' },
  'wasi:cli/exit': { status: 'provided', reason: 'traps the instance (the pool replaces it); never exits the gateway' },
  'wasi:cli/terminal-input': { status: 'provided', reason: 'resource type only; no terminal is ever handed out' },
  'wasi:cli/terminal-output': { status: 'provided', reason: 'resource type only; no terminal is ever handed out' },
  'wasi:cli/terminal-stdin': { status: 'provided', reason: 'always none' },
  'wasi:cli/terminal-stdout': { status: 'provided', reason: 'always none' },
  'wasi:cli/terminal-stderr': { status: 'provided', reason: 'always none' },
  'wasi:filesystem/types': { status: 'provided', reason: 'types only: with no preopens the guest never holds a descriptor' },
  'wasi:filesystem/preopens': { status: 'provided', reason: 'an empty list: no host file or directory is reachable' },
  'wasi:sockets/*': { status: 'refused', reason: 'raw network access would bypass the bounded, policed praxis:filter/http-client' },
  'wasi:http/*': { status: 'refused', reason: 'outbound HTTP goes through praxis:filter/http-client (build componentize-js filters with disableFeatures: [\'http\', \'fetch-event\'])' },
};

const ALLOWED = new Set(Object.entries(WASI_INTERFACES).filter(([, r]) => r.status === 'provided').map(([k]) => k));

/** True for `wasi:<pkg>/<iface>@0.2.<n>` where the interface is one we provide. */
export function isAllowedWasiImport(name: string): boolean {
  const m = /^(wasi:[a-z0-9-]+\/[a-z0-9-]+)@0\.2\.\d+$/.exec(name);
  return m !== null && ALLOWED.has(m[1]!);
}

/** Bounds of one instance's stdout/stderr. */
export const STDIO_LIMITS = {
  /** A line longer than this is cut and logged in pieces. */
  maxLineBytes: 4096,
  /** Output past this, within one hook call, is dropped (one notice is logged). */
  maxBytesPerCall: 64 * 1024,
  /** What check-write grants per write. */
  writeGrant: 4096n,
};

/** Where an instance's stdout/stderr lines go; undefined outside a hook (the line is dropped). */
export type WasiLogSink = (level: LogLevel, msg: string) => void;

// ---- wasi:io ----

class WasiIoError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
  toDebugString(): string {
    return this.message;
  }
}

class Pollable {
  /** Monotonic deadline (ns) or undefined: always ready. */
  readonly deadline: bigint | undefined;
  constructor(deadline?: bigint) {
    this.deadline = deadline;
  }
  ready(): boolean {
    return this.deadline === undefined || process.hrtime.bigint() >= this.deadline;
  }
  block(): void {
    if (!this.ready()) throw new Error('wasi:io/poll: waiting on a clock would block the gateway thread; timers and sleeps are not available to plugins');
  }
}

function poll(list: Pollable[]): Uint32Array {
  const ready: number[] = [];
  list.forEach((p, i) => { if (p.ready()) ready.push(i); });
  if (ready.length === 0) {
    throw new Error('wasi:io/poll: waiting on a clock would block the gateway thread; timers and sleeps are not available to plugins');
  }
  return new Uint32Array(ready);
}

const CLOSED = { tag: 'closed' } as const;

class InputStream {
  read(_len: bigint): Uint8Array { throw { payload: CLOSED }; }
  blockingRead(_len: bigint): Uint8Array { throw { payload: CLOSED }; }
  skip(_len: bigint): bigint { throw { payload: CLOSED }; }
  blockingSkip(_len: bigint): bigint { throw { payload: CLOSED }; }
  subscribe(): Pollable { return new Pollable(); }
}

/** A log-backed output stream: bytes are decoded as UTF-8, cut into lines, and logged. */
class LogStream {
  private readonly decoder = new TextDecoder('utf-8');
  private partial = '';
  private readonly level: LogLevel;
  private readonly budget: StdioBudget;
  constructor(level: LogLevel, budget: StdioBudget) {
    this.level = level;
    this.budget = budget;
  }

  push(bytes: Uint8Array): void {
    let text = this.decoder.decode(bytes, { stream: true });
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      this.emit(this.partial + text.slice(0, nl));
      this.partial = '';
      text = text.slice(nl + 1);
    }
    this.partial += text;
    while (this.partial.length > STDIO_LIMITS.maxLineBytes) {
      this.emit(this.partial.slice(0, STDIO_LIMITS.maxLineBytes));
      this.partial = this.partial.slice(STDIO_LIMITS.maxLineBytes);
    }
  }

  /** Logs the unterminated rest, if any (end of a hook call). */
  flushPartial(): void {
    if (this.partial) this.emit(this.partial);
    this.partial = '';
  }

  private emit(line: string): void {
    this.budget.emit(this.level, line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}

class StdioBudget {
  private used = 0;
  private noticed = false;
  sink: WasiLogSink | undefined;

  emit(level: LogLevel, line: string): void {
    const sink = this.sink;
    if (!sink) return;
    const size = line.length + 1;
    if (this.used + size > STDIO_LIMITS.maxBytesPerCall) {
      if (!this.noticed) sink('warn', `plugin output past ${STDIO_LIMITS.maxBytesPerCall} bytes in one call dropped`);
      this.noticed = true;
      return;
    }
    this.used += size;
    sink(level, line);
  }

  reset(sink: WasiLogSink | undefined): void {
    this.used = 0;
    this.noticed = false;
    this.sink = sink;
  }
}

class OutputStream {
  readonly target: LogStream | undefined;
  constructor(target?: LogStream) {
    this.target = target;
  }
  checkWrite(): bigint { return STDIO_LIMITS.writeGrant; }
  write(contents: Uint8Array): void { this.target?.push(contents); }
  blockingWriteAndFlush(contents: Uint8Array): void { this.target?.push(contents); }
  flush(): void {}
  blockingFlush(): void {}
  subscribe(): Pollable { return new Pollable(); }
  writeZeroes(len: bigint): void { this.target?.push(new Uint8Array(Number(len))); }
  blockingWriteZeroesAndFlush(len: bigint): void { this.target?.push(new Uint8Array(Number(len))); }
  splice(_src: InputStream, _len: bigint): bigint { throw { payload: CLOSED }; }
  blockingSplice(_src: InputStream, _len: bigint): bigint { throw { payload: CLOSED }; }
}

// ---- wasi:filesystem: types only; no descriptor is ever created ----

function noDescriptor(): never {
  throw new Error('wasi:filesystem: plugins have no descriptors');
}
class Descriptor {
  constructor() { noDescriptor(); }
}
class DirectoryEntryStream {
  constructor() { noDescriptor(); }
}

class TerminalInput {}
class TerminalOutput {}

function exitTrap(): never {
  throw new Error('the plugin called wasi:cli/exit');
}

/** The restricted WASI of one instance, and the hooks the binding drives it with. */
export interface WasiContext {
  /** Import-object entries, keyed as jco's glue reads them. */
  imports: Record<string, Record<string, unknown>>;
  /** Before a hook call: where its output goes, with a fresh per-call budget. */
  begin(sink: WasiLogSink | undefined): void;
  /** After a hook call: log unterminated output, stop logging. */
  end(): void;
}

export function createWasiContext(): WasiContext {
  const budget = new StdioBudget();
  const out = new LogStream('info', budget);
  const err = new LogStream('warn', budget);
  const stdout = new OutputStream(out);
  const stderr = new OutputStream(err);
  const stdin = new InputStream();
  const monotonicClock = {
    now: (): bigint => process.hrtime.bigint(),
    resolution: (): bigint => 1n,
    subscribeInstant: (when: bigint): Pollable => new Pollable(BigInt(when)),
    subscribeDuration: (d: bigint): Pollable => new Pollable(process.hrtime.bigint() + BigInt(d)),
  };
  const wallClock = {
    now: () => {
      const ms = Date.now();
      return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
    },
    resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }),
  };
  const imports: Record<string, Record<string, unknown>> = {
    'wasi:clocks/monotonic-clock': monotonicClock,
    'wasi:clocks/wall-clock': wallClock,
    'wasi:random/random': random,
    'wasi:random/insecure': insecure,
    'wasi:random/insecure-seed': insecureSeed,
    'wasi:io/error': { Error: WasiIoError },
    'wasi:io/poll': { Pollable, poll },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:cli/stdout': { getStdout: () => stdout },
    'wasi:cli/stderr': { getStderr: () => stderr },
    'wasi:cli/stdin': { getStdin: () => stdin },
    'wasi:cli/environment': {
      getEnvironment: (): Array<[string, string]> => [],
      getArguments: (): string[] => [],
      initialCwd: (): string | undefined => undefined,
    },
    'wasi:cli/exit': { exit: exitTrap, exitWithCode: exitTrap },
    'wasi:cli/terminal-input': { TerminalInput },
    'wasi:cli/terminal-output': { TerminalOutput },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    'wasi:filesystem/types': { Descriptor, DirectoryEntryStream, filesystemErrorCode: () => undefined },
    'wasi:filesystem/preopens': { getDirectories: (): Array<[Descriptor, string]> => [] },
  };
  return {
    imports,
    begin: (sink) => budget.reset(sink),
    end: () => {
      out.flushPartial();
      err.flushPartial();
      budget.reset(undefined);
    },
  };
}
