/**
 * Moves one direction's body through the filters that asked for it, chunk by chunk, honouring
 * each filter's body mode:
 *  - stream: the filter sees each chunk as it comes and nothing is held;
 *  - stream-buffer(max): chunks are held (and shown to the filter) until it answers `release`,
 *    `body-done`, or the stream ends; past `max` held bytes the body is refused;
 * and the decisions `body-done` (no more chunks for this filter) and `reject`.
 * Filters with body mode `none` are not stages at all: a body nobody asked for is never held.
 */
import type { Action, Mutations, Rejection } from '../component/types.ts';
import type { ChainFilter } from './filter.ts';

export type Direction = 'request' | 'response';

interface Stage {
  filter: ChainFilter;
  /** Byte ceiling while holding, or undefined for stream mode. */
  max: number | undefined;
  holding: boolean;
  done: boolean;
  held: Buffer[];
  heldBytes: number;
}

interface Unit {
  chunk: Buffer;
  eos: boolean;
}

export type BodyStep =
  | { kind: 'forward'; chunks: Buffer[]; eos: boolean; mutations: Mutations[] }
  | { kind: 'reject'; rejection: Rejection; plugin: string; mutations: Mutations[] }
  | { kind: 'too-large'; plugin: string; limit: number };

export type RunBodyHook = (filter: ChainFilter, chunk: Buffer, eos: boolean) => Promise<Action>;

const EMPTY = Buffer.alloc(0);

export class BodyChain {
  private readonly stages: Stage[];
  private readonly run: RunBodyHook;

  /** `filters` in the order this direction runs them (the response runs the chain reversed). */
  constructor(filters: ChainFilter[], direction: Direction, run: RunBodyHook) {
    this.run = run;
    this.stages = [];
    for (const filter of filters) {
      const mode = direction === 'request' ? filter.info.requestBody : filter.info.responseBody;
      if (mode.tag === 'none') continue;
      const max = mode.tag === 'stream-buffer' ? mode.maxBytes : undefined;
      this.stages.push({ filter, max, holding: max !== undefined, done: false, held: [], heldBytes: 0 });
    }
  }

  /** True when some filter wants this body; otherwise the caller pipes it straight through. */
  get wanted(): boolean {
    return this.stages.length > 0;
  }

  /** True while some filter is still holding the body back. */
  get holding(): boolean {
    return this.stages.some((s) => s.holding && !s.done);
  }

  /** Passes one chunk (the last one when `eos`) through every stage. */
  async push(chunk: Buffer, eos: boolean): Promise<BodyStep> {
    let units: Unit[] = [{ chunk, eos }];
    const mutations: Mutations[] = [];
    for (const stage of this.stages) {
      const next: Unit[] = [];
      for (const unit of units) {
        const step = await this.through(stage, unit, next, mutations);
        if (step) return step;
      }
      units = next;
    }
    return { kind: 'forward', chunks: units.map((u) => u.chunk).filter((c) => c.length > 0), eos: units.some((u) => u.eos), mutations };
  }

  /** Runs one unit through one stage, appending what comes out to `out`. */
  private async through(stage: Stage, unit: Unit, out: Unit[], mutations: Mutations[]): Promise<BodyStep | undefined> {
    if (stage.done) {
      out.push(unit);
      return undefined;
    }
    if (stage.holding) {
      stage.held.push(unit.chunk);
      stage.heldBytes += unit.chunk.length;
    }
    const action = await this.run(stage.filter, unit.chunk, unit.eos);
    // The ceiling binds only while the filter keeps holding: one that lets go (release,
    // body-done) is not refused for a large chunk.
    if (stage.holding && action.tag === 'continue' && stage.heldBytes > stage.max!) {
      return { kind: 'too-large', plugin: stage.filter.name, limit: stage.max! };
    }
    switch (action.tag) {
      case 'reject':
        return { kind: 'reject', rejection: action.rejection, plugin: stage.filter.name, mutations };
      case 'body-done':
      case 'release': {
        if (action.tag === 'body-done') stage.done = true;
        out.push(stage.holding ? { chunk: this.drain(stage), eos: unit.eos } : unit);
        stage.holding = false;
        return undefined;
      }
      case 'continue': {
        const m = action.mutations;
        if (m) mutations.push(m);
        if (!stage.holding) {
          out.push(m?.body ? { chunk: Buffer.from(m.body), eos: unit.eos } : unit);
        } else if (unit.eos) {
          const held = this.drain(stage);
          out.push({ chunk: m?.body ? Buffer.from(m.body) : held, eos: true });
        } else if (m?.body) {
          // The filter rewrote what it holds so far.
          stage.held = [Buffer.from(m.body)];
          stage.heldBytes = m.body.length;
        }
        return undefined;
      }
    }
  }

  private drain(stage: Stage): Buffer {
    const all = stage.held.length === 1 ? stage.held[0]! : stage.held.length === 0 ? EMPTY : Buffer.concat(stage.held);
    stage.held = [];
    stage.heldBytes = 0;
    return all;
  }
}
