// Canonical ABI lift (memory -> objects) and lower (objects -> memory) for the praxis world.
// Layouts: docs/abi.md. Every lowered buffer lives in the per-call arena (arena.ts).
import { Header, Headers, Mutations, Action, ACTION_CONTINUE, ACTION_REJECT, FilterInfo, BodyMode, ConfigResult } from "./types";

// ---- lift ----

export function liftString(ptr: usize, len: usize): string {
  if (len == 0) return "";
  return String.UTF8.decodeUnsafe(ptr, len);
}

/**
 * A list<u8> as a Uint8Array. When the list is exactly one allocation from cabi_realloc (which
 * shapes each as an ArrayBuffer: rtId @-8, rtSize @-4), it is wrapped in place, no copy; a list
 * inside a larger allocation is copied. A false match is harmless: the view is still [ptr, ptr+len).
 */
export function liftBytes(ptr: usize, len: usize): Uint8Array {
  if (len == 0) return new Uint8Array(0);
  if ((ptr & 15) == 0 && ptr >= __heap_base + 20 && load<u32>(ptr - 8) == idof<ArrayBuffer>() && <usize>load<u32>(ptr - 4) == len) {
    return Uint8Array.wrap(changetype<ArrayBuffer>(ptr));
  }
  const out = new Uint8Array(<i32>len);
  memory.copy(out.dataStart, ptr, len);
  return out;
}

/** list<tuple<string,string>>: 16-byte elements, name @0, value @8. */
export function liftHeaders(ptr: usize, len: usize): Headers {
  const h = new Headers();
  for (let i: usize = 0; i < len; i++) {
    const e = ptr + i * 16;
    h.entries.push(new Header(liftString(load<u32>(e), load<u32>(e, 4)), liftString(load<u32>(e, 8), load<u32>(e, 12))));
  }
  return h;
}

// ---- lower ----

/** Zeroed arena memory. */
export function allocZeroed(size: usize): usize {
  const p = heap.alloc(size);
  memory.fill(p, 0, size);
  return p;
}

/**
 * Writes (ptr, len) of a utf-8 copy of `s` at `at`. A lone surrogate (a JSON `"\ud800"` escape,
 * or WTF-8 bytes in a body, both decode to one) becomes U+FFFD: the host traps on invalid UTF-8,
 * so a client could otherwise make any hook that passes its text on fail. Every string the SDK
 * hands the host is encoded this way.
 */
export function storeString(at: usize, s: string): void {
  const len = <usize>String.UTF8.byteLength(s);
  const p = heap.alloc(len);
  String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p, false, String.UTF8.ErrorMode.REPLACE);
  store<u32>(at, <u32>p);
  store<u32>(at, <u32>len, 4);
}

export function storeBytes(at: usize, b: Uint8Array): void {
  const len = <usize>b.length;
  const p = heap.alloc(len);
  if (len) memory.copy(p, b.dataStart, len);
  store<u32>(at, <u32>p);
  store<u32>(at, <u32>len, 4);
}

export function storeHeaders(at: usize, h: Headers | null): void {
  const n = h === null ? 0 : h.entries.length;
  const p = heap.alloc(<usize>n * 16);
  for (let i = 0; i < n; i++) {
    const e = h!.entries[i];
    storeString(p + <usize>i * 16, e.name);
    storeString(p + <usize>i * 16 + 8, e.value);
  }
  store<u32>(at, <u32>p);
  store<u32>(at, <u32>n, 4);
}

export function storeStrings(at: usize, list: string[]): void {
  const n = list.length;
  const p = heap.alloc(<usize>n * 8);
  for (let i = 0; i < n; i++) storeString(p + <usize>i * 8, list[i]);
  store<u32>(at, <u32>p);
  store<u32>(at, <u32>n, 4);
}

/** option<list<u8>> (12 bytes): is_some @0, list @4. Expects zeroed memory. */
export function storeOptionBytes(at: usize, b: Uint8Array | null): void {
  if (b === null) return;
  store<u8>(at, 1);
  storeBytes(at + 4, b);
}

function storeBodyMode(at: usize, m: BodyMode): void {
  store<u8>(at, m.tag);
  store<u32>(at, m.maxBytes, 4);
}

/** result<filter-info, string> (32 bytes). */
export function lowerConfigResult(r: ConfigResult): usize {
  const p = allocZeroed(32);
  if (r.info !== null) {
    const info = r.info as FilterInfo;
    storeString(p + 4, info.name);
    storeBodyMode(p + 12, info.requestBody);
    storeBodyMode(p + 20, info.responseBody);
    store<u8>(p + 28, info.headerHooks.bits());
  } else {
    store<u8>(p, 1);
    storeString(p + 4, r.error !== null ? (r.error as string) : "configure failed");
  }
  return p;
}

/** action (48 bytes). */
export function lowerAction(a: Action): usize {
  const p = allocZeroed(48);
  store<u8>(p, a.tag);
  if (a.tag == ACTION_CONTINUE) {
    if (a.mutations !== null) {
      const m = a.mutations as Mutations;
      store<u8>(p + 4, 1);
      storeHeaders(p + 8, m.setHeaders);
      storeStrings(p + 16, m.removeHeaders);
      storeOptionBytes(p + 24, m.body);
      if (m.upstream !== null) {
        store<u8>(p + 36, 1);
        storeString(p + 40, m.upstream as string);
      }
    }
  } else if (a.tag == ACTION_REJECT) {
    store<u16>(p + 4, a.status);
    storeHeaders(p + 8, a.headers);
    storeOptionBytes(p + 16, a.body);
  }
  return p;
}
