/**
 * The chunks of a readable stream (a client's request body) as an async generator, with the
 * semantics of `for await (const c of stream)` but not its cost: Node's stream iterator sets up
 * an end-of-stream watcher (six listeners and their removal, a cleanup closure, error wrapping)
 * and a generator over a generator, several µs and ~3 KB per request body (docs/performance.md).
 * Here: four listeners and one promise per wait. As there, the stream is read in paused mode
 * (`read()` on `readable`), so nothing is read ahead of the consumer; an early `return` or an
 * error destroys the stream as Node's does (`release`); a natural end leaves it to the stream's
 * own auto-destroy.
 */
import { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

export class PrematureClose extends Error {
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
  constructor() {
    super('Premature close');
    this.name = 'PrematureClose';
  }
}

/** What the listeners tell the reading loop; one object per stream, no closure per wait. */
interface Watch {
  wake: (() => void) | undefined;
  ended: boolean;
  error: Error | undefined;
}

export async function* chunksOf(stream: Readable): AsyncGenerator<Buffer> {
  const watch: Watch = { wake: undefined, ended: false, error: undefined };
  const poke = () => {
    const wake = watch.wake;
    watch.wake = undefined;
    wake?.();
  };
  const onEnd = () => { watch.ended = true; poke(); };
  const onError = (err: Error) => { watch.error ??= err; poke(); };
  // A close before the end (and with no error) is a body cut short, as Node's iterator reads it.
  const onClose = () => { if (!watch.ended && !stream.readableEnded) watch.error ??= stream.errored ?? new PrematureClose(); poke(); };
  stream.on('readable', poke).on('end', onEnd).on('error', onError).on('close', onClose);
  let natural = false;
  try {
    for (;;) {
      const chunk = stream.destroyed ? null : (stream.read() as Buffer | null);
      if (chunk !== null) {
        yield chunk;
        continue;
      }
      if (watch.error) throw watch.error;
      if (watch.ended || stream.readableEnded) {
        natural = true;
        return;
      }
      if (stream.destroyed) throw stream.errored ?? new PrematureClose();
      await new Promise<void>((resolve) => { watch.wake = resolve; });
    }
  } finally {
    stream.off('readable', poke).off('end', onEnd).off('error', onError).off('close', onClose);
    if (!natural) release(stream);
  }
}

/**
 * Destroys a stream left before its end, as Node's iterator does (its `destroyer`): a server
 * request is detached from its socket first, so the connection stays usable for the answer (a
 * 413 for a body past a filter's ceiling, say) instead of being cut.
 */
function release(stream: Readable): void {
  if (stream.destroyed) return;
  const cut = stream.readableEnded ? undefined : Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
  if (stream instanceof IncomingMessage && stream.method !== undefined && stream.method !== null) {
    (stream as { socket: unknown }).socket = null;
  }
  stream.destroy(cut);
}
