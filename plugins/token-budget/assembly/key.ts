// Whom a request's tokens are charged to: the API key of `authorization`, a header, or a JSON body field.
import { Headers, Json } from "../../../sdk-assemblyscript/assembly";

export const FROM_API_KEY: u8 = 0;
export const FROM_HEADER: u8 = 1;
export const FROM_BODY: u8 = 2;

/** FNV-1a 64-bit of the utf-8 bytes, as 16 hex digits. */
export function fnv1a64(s: string): string {
  const b = Uint8Array.wrap(String.UTF8.encode(s));
  let h: u64 = 0xcbf29ce484222325;
  for (let i = 0; i < b.length; i++) h = (h ^ <u64>b[i]) * 0x100000001b3;
  return h.toString(16).padStart(16, "0");
}

/** The credential of `authorization` (after `Bearer `, else the whole value), or `x-api-key`. */
export function apiKey(headers: Headers): string | null {
  const auth = headers.get("authorization");
  if (auth !== null) {
    const v = auth.trim();
    const bearer = v.length > 7 && v.substring(0, 7).toLowerCase() == "bearer ";
    const k = bearer ? v.substring(7).trim() : v;
    if (k.length > 0) return k;
  }
  const x = headers.get("x-api-key");
  return x !== null && x.length > 0 ? x : null;
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
