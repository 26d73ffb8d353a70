/**
 * Bounds on guest log lines: a per-plugin token bucket (a flood from every instance at once
 * still writes at most `burst + rate * t` lines) and a length cap per line.
 */

/** A run of drops that follows this long without any counts as a new one (warned about again). */
const QUIET_MS = 1000;

export class LogRate {
  private readonly perMs: number;
  private readonly burst: number;
  private tokens: number;
  private last: number;
  private lastDrop = Number.NEGATIVE_INFINITY;

  constructor(perSecond: number, burst: number) {
    this.perMs = perSecond / 1000;
    this.burst = burst;
    this.tokens = burst;
    this.last = performance.now();
  }

  /** Takes one line's token; false when the plugin is over its rate. */
  take(now = performance.now()): boolean {
    const tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perMs);
    this.last = now;
    if (tokens < 1) {
      this.tokens = tokens;
      return false;
    }
    this.tokens = tokens - 1;
    return true;
  }

  /** Records a dropped line; true when it starts a run of drops (the one worth a warning). */
  dropped(now = performance.now()): boolean {
    const starts = now - this.lastDrop > QUIET_MS;
    this.lastDrop = now;
    return starts;
  }
}

/** `msg` cut to at most `maxBytes` UTF-8 bytes (on a character boundary), with a marker saying how much went. */
export function clipLine(msg: string, maxBytes: number): string {
  if (msg.length * 3 <= maxBytes) return msg; // no string this short can be longer in UTF-8
  const buf = Buffer.from(msg, 'utf8');
  if (buf.length <= maxBytes) return msg;
  let end = maxBytes;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--; // back off to the start of a character
  return `${buf.toString('utf8', 0, end)}…[truncated ${buf.length - end} bytes]`;
}
