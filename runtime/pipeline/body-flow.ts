/**
 * Drives a body source through a BodyChain as an async generator of forwardable chunks, so
 * whoever consumes it (undici for a request, the client socket for a response) pulls at its
 * own pace and nothing is read ahead. A rejection or an exceeded ceiling surfaces as a throw.
 */
import type { Mutations, Rejection } from '../component/types.ts';
import type { BodyChain, BodyStep } from './body-chain.ts';

export class BodyRejected extends Error {
  readonly rejection: Rejection;
  readonly plugin: string;
  constructor(rejection: Rejection, plugin: string) {
    super(`body rejected by ${plugin} with ${rejection.status}`);
    this.name = 'BodyRejected';
    this.rejection = rejection;
    this.plugin = plugin;
  }
}

export class BodyTooLarge extends Error {
  readonly plugin: string;
  readonly limit: number;
  constructor(plugin: string, limit: number) {
    super(`body exceeds the ${limit}-byte buffer of plugin ${plugin}`);
    this.name = 'BodyTooLarge';
    this.plugin = plugin;
    this.limit = limit;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * One chunk through the whole chain: what comes out, forwardable. Mutations go to `onMutations`
 * first; a rejection or an exceeded ceiling throws (BodyRejected, BodyTooLarge).
 */
export async function passChunk(chain: BodyChain, chunk: Buffer, eos: boolean, onMutations: (m: Mutations[]) => void): Promise<BodyStep & { kind: 'forward' }> {
  const step = await chain.push(chunk, eos);
  if (step.kind === 'too-large') throw new BodyTooLarge(step.plugin, step.limit);
  if (step.mutations.length) onMutations(step.mutations);
  if (step.kind === 'reject') throw new BodyRejected(step.rejection, step.plugin);
  return step;
}

/**
 * Runs each chunk of `source` through the chain, with an end-of-stream flag: when the length is
 * known, the chunk that completes it carries the flag (no extra empty call); otherwise an empty
 * final chunk does. The source is always read to its natural end: leaving a for-await early
 * destroys a stream with an AbortError (and its stack trace), a measurable cost per request.
 */
export async function* flowThrough(
  chain: BodyChain,
  source: AsyncIterable<Buffer> | Buffer,
  contentLength: number | undefined,
  onMutations: (m: Mutations[]) => void,
  /** Set to true once the chain has seen the end of the body (before its last chunks are yielded). */
  state?: { ended: boolean },
): AsyncGenerator<Buffer> {
  const through = async (chunk: Buffer, eos: boolean): Promise<Buffer[]> => {
    const step = await passChunk(chain, chunk, eos, onMutations);
    if (step.eos && state) state.ended = true;
    return step.chunks;
  };
  // Plain loops rather than `yield*` over the arrays: that wraps each in an async-from-sync
  // iterator with a promise per element.
  if (Buffer.isBuffer(source)) {
    for (const c of await through(source, true)) yield c;
    return;
  }
  let seen = 0;
  let ended = false;
  for await (const chunk of source) {
    if (ended) continue; // nothing past the declared length reaches a filter
    seen += chunk.length;
    ended = contentLength !== undefined && seen >= contentLength;
    for (const c of await through(chunk, ended)) yield c;
  }
  if (!ended) for (const c of await through(EMPTY, true)) yield c;
}
