// Writing JSON (stringify a JsonValue) and editing the members of an object's text in place,
// with the Rust SDK's names (json::stringify, member_raw, set_member, remove_member, minify).
import { JSON_ARRAY, JSON_BOOL, JSON_NULL, JSON_NUMBER, JSON_OBJECT, JSON_STRING, JsonValue, Parser, quoteString } from "./json-value";

/** The JSON text of `v`, compact. Integers print without a fraction; NaN and infinities as null. As Rust's `json::stringify`. */
export function stringify(v: JsonValue): string {
  const parts: string[] = [];
  write(v, parts);
  return parts.join("");
}

function write(v: JsonValue, out: string[]): void {
  if (v.kind == JSON_NULL) out.push("null");
  else if (v.kind == JSON_BOOL) out.push(v.bool ? "true" : "false");
  else if (v.kind == JSON_NUMBER) out.push(number(v.num));
  else if (v.kind == JSON_STRING) out.push(quoteString(v.str));
  else if (v.kind == JSON_ARRAY) {
    out.push("[");
    for (let i = 0; i < v.items.length; i++) {
      if (i > 0) out.push(",");
      write(v.items[i], out);
    }
    out.push("]");
  } else {
    out.push("{");
    for (let i = 0; i < v.items.length; i++) {
      if (i > 0) out.push(",");
      out.push(quoteString(v.keys[i]));
      out.push(":");
      write(v.items[i], out);
    }
    out.push("}");
  }
}

function number(n: f64): string {
  if (!isFinite(n)) return "null";
  if (Math.abs(n) <= 9007199254740992.0 && n == Math.floor(n)) return (<i64>n).toString();
  return n.toString();
}

/** The top-level object of `text`, parsed with its members' value spans; null if not an object. */
function objectSpans(text: string): Parser | null {
  const p = new Parser(text);
  const v = p.value(0);
  p.ws();
  if (p.failed || p.pos != text.length || v.kind != JSON_OBJECT) return null;
  return p;
}

/** The raw JSON text of `key`'s value in a top-level object (the first), or null. As Rust's `member_raw`. */
export function memberRaw(text: string, key: string): string | null {
  const p = objectSpans(text);
  if (p === null) return null;
  for (let i = 0; i < p.spanKeys.length; i++) {
    if (p.spanKeys[i] == key) return text.substring(p.spanStarts[i], p.spanEnds[i]);
  }
  return null;
}

/**
 * `text` (a top-level object) with `key` set to the JSON text `raw`: every occurrence rewritten
 * in place, or the member inserted first if absent; the rest kept as is. Null if `text` is not
 * an object. As Rust's `set_member`.
 */
export function setMember(text: string, key: string, raw: string): string | null {
  const p = objectSpans(text);
  if (p === null) return null;
  let out = "";
  let at = 0;
  for (let i = 0; i < p.spanKeys.length; i++) {
    if (p.spanKeys[i] != key) continue;
    out += text.substring(at, p.spanStarts[i]) + raw;
    at = p.spanEnds[i];
  }
  if (at > 0) return out + text.substring(at);
  const open = p.openAt + 1;
  return text.substring(0, open) + quoteString(key) + ":" + raw + (p.spanKeys.length > 0 ? "," : "") + text.substring(open);
}

/** `text` (a top-level object) without any member named `key`; null if not an object. As Rust's `remove_member`. */
export function removeMember(text: string, key: string): string | null {
  let out = text;
  let p = objectSpans(out);
  while (p !== null && p.spanKeys.includes(key)) {
    const i = p.spanKeys.indexOf(key);
    // A member after the first goes with the comma before it; the first with the one after.
    let from = p.openAt + 1;
    let to = p.spanEnds[i];
    if (i > 0) from = p.spanEnds[i - 1];
    else if (p.spanKeys.length > 1) to = out.indexOf(",", to) + 1;
    out = out.substring(0, from) + out.substring(to);
    p = objectSpans(out);
  }
  return p === null ? null : out;
}

/** `text` without whitespace outside strings: one line, safe in a header value. As Rust's `minify`. */
export function minify(text: string): string {
  let out = "";
  let run = 0;
  let inStr = false;
  let esc = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inStr) {
      inStr = esc || c != 0x22;
      esc = !esc && c == 0x5c;
    } else if (c == 32 || c == 9 || c == 10 || c == 13) {
      out += text.substring(run, i);
      run = i + 1;
    } else inStr = c == 0x22;
  }
  return out + text.substring(run);
}
