// The context and log imports of the praxis world.
import { liftBytes } from "./abi";

// @ts-ignore: decorator
@external("praxis:filter/context@0.2.0", "get")
declare function _contextGet(keyPtr: usize, keyLen: usize, retPtr: usize): void;
// @ts-ignore: decorator
@external("praxis:filter/context@0.2.0", "set")
declare function _contextSet(keyPtr: usize, keyLen: usize, valPtr: usize, valLen: usize): void;
// @ts-ignore: decorator
@external("praxis:filter/log@0.2.0", "log")
declare function _log(level: u32, msgPtr: usize, msgLen: usize): void;

/** Passes a string to an import as (ptr, len) of a utf-8 copy (freed with the call's arena). */
function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s, false, String.UTF8.ErrorMode.REPLACE);
}

/**
 * A store scoped to one client request, kept by the host across hooks and retry attempts.
 * Instances are pooled, not pinned to a request: state that must reach a later hook goes here.
 */
export namespace context {
  export function get(key: string): Uint8Array | null {
    const k = utf8(key);
    const ret = heap.alloc(12);
    store<u8>(ret, 0);
    _contextGet(changetype<usize>(k), <usize>k.byteLength, ret);
    if (load<u8>(ret) == 0) return null;
    return liftBytes(load<u32>(ret, 4), load<u32>(ret, 8));
  }
  export function set(key: string, value: Uint8Array): void {
    const k = utf8(key);
    _contextSet(changetype<usize>(k), <usize>k.byteLength, value.dataStart, <usize>value.length);
  }
  export function getString(key: string): string | null {
    const v = get(key);
    return v === null ? null : String.UTF8.decode(v.buffer);
  }
  export function setString(key: string, value: string): void {
    set(key, Uint8Array.wrap(String.UTF8.encode(value, false, String.UTF8.ErrorMode.REPLACE)));
  }
  /** u32 little-endian; `fallback` when missing or not 4 bytes. */
  export function getU32(key: string, fallback: u32 = 0): u32 {
    const v = get(key);
    if (v === null || v.length != 4) return fallback;
    return load<u32>(v.dataStart);
  }
  export function setU32(key: string, value: u32): void {
    const b = new Uint8Array(4);
    store<u32>(b.dataStart, value);
    set(key, b);
  }
}

export namespace log {
  export function write(level: u32, msg: string): void {
    const m = utf8(msg);
    _log(level, changetype<usize>(m), <usize>m.byteLength);
  }
  export function debug(msg: string): void {
    write(0, msg);
  }
  export function info(msg: string): void {
    write(1, msg);
  }
  export function warn(msg: string): void {
    write(2, msg);
  }
  export function error(msg: string): void {
    write(3, msg);
  }
}

