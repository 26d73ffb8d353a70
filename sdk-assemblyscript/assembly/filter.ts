// The Filter base class a plugin extends, and its registration.
import { Action, ConfigResult, FilterInfo, RequestHead, RequestInfo, ResponseHead } from "./types";

/**
 * Override the hooks you need; the defaults continue unchanged. One instance serves many
 * requests, one call at a time, and is not pinned to a request: keep per-request state in
 * `context`, never in fields. Fields set in `configure` live as long as the instance; objects
 * created during a hook are freed when it returns (see README, "Memory").
 */
export class Filter {
  configure(config: string): ConfigResult {
    return ConfigResult.ok(new FilterInfo("filter"));
  }
  onRequestHeaders(info: RequestInfo, head: RequestHead): Action {
    return Action.continue();
  }
  onRequestBody(info: RequestInfo, chunk: Uint8Array, endOfStream: bool): Action {
    return Action.continue();
  }
  onResponseHeaders(info: RequestInfo, head: ResponseHead): Action {
    return Action.continue();
  }
  onResponseBody(info: RequestInfo, chunk: Uint8Array, endOfStream: bool): Action {
    return Action.continue();
  }
}

let factory: (() => Filter) | null = null;
let current: Filter | null = null;

/** Call once at the top level of the plugin: `registerFilter(() => new MyFilter())`. */
export function registerFilter(make: () => Filter): void {
  factory = make;
}

/** The instance's filter, made on first use (configure). */
export function theFilter(): Filter {
  if (current === null) {
    if (factory === null) throw new Error("no filter registered: call registerFilter(() => new MyFilter()) at top level");
    current = factory!();
  }
  return current!;
}
