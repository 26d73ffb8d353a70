// Where a request's rate-limit key comes from: a header, the client address, or a JSON body field.
import { Headers, Json } from "../../../sdk-assemblyscript/assembly";

export const FROM_CLIENT: u8 = 0;
export const FROM_HEADER: u8 = 1;
export const FROM_BODY: u8 = 2;

/** FNV-1a 64-bit of the utf-8 bytes, as 16 hex digits. */
export function fnv1a64(s: string): string {
  const b = Uint8Array.wrap(String.UTF8.encode(s));
  let h: u64 = 0xcbf29ce484222325;
  for (let i = 0; i < b.length; i++) h = (h ^ <u64>b[i]) * 0x100000001b3;
  return h.toString(16).padStart(16, "0");
}

/** A key fit for the store: short keys as they are, long ones (past the store's key bound) hashed. */
export function storeKey(raw: string): string {
  return raw.length <= 96 ? raw : "#" + fnv1a64(raw);
}

/**
 * The client address: the gateway appends the peer's address as the last x-forwarded-for entry,
 * so entries before it are the client's own claims. `trustedProxies` entries from the end are
 * skipped for the proxies in front of the gateway.
 */
export function clientAddress(headers: Headers, trustedProxies: i32): string | null {
  const xff = headers.get("x-forwarded-for");
  if (xff === null) return null;
  const parts = xff.split(",");
  const i = parts.length - 1 - trustedProxies;
  if (i < 0) return null;
  const a = parts[i].trim();
  return a.length > 0 ? a : null;
}

/** A top-level field of a JSON body as text (a string as is, a number or bool as written), or null. */
export function bodyField(text: string, field: string): string | null {
  const json = Json.parse(text);
  if (json === null || !json.isObject()) return null;
  const v = json.get(field);
  if (v === null) return null;
  if (v.isString()) return v.str.length > 0 ? v.str : null;
  if (v.isNumber() || v.isBool()) return Json.stringify(v);
  return null;
}
