// Finding the `usage` object in the end of a response: a JSON completion, or the last SSE event
// that carries one. Only the response's tail is kept, so the scan never holds the body.
import { Json, JsonValue } from "../../../sdk-assemblyscript/assembly";

/** The end of `s`'s object that opens at `open` (a `{`), strings skipped; -1 if it does not close. */
function objectEnd(s: string, open: i32): i32 {
  let depth = 0;
  let inStr = false;
  for (let i = open; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inStr) {
      if (c == 0x5c) i++;
      else if (c == 0x22) inStr = false;
    } else if (c == 0x22) inStr = true;
    else if (c == 0x7b) depth++;
    else if (c == 0x7d && --depth == 0) return i + 1;
  }
  return -1;
}

function skipSpace(s: string, i: i32): i32 {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c != 32 && c != 9 && c != 10 && c != 13) break;
    i++;
  }
  return i;
}

/** Tokens used by one usage object: total_tokens, else prompt + completion (input + output). */
function tokensOf(u: JsonValue, count: string): i64 {
  if (count == "prompt") return <i64>u.getNumber("prompt_tokens", u.getNumber("input_tokens", 0));
  if (count == "completion") return <i64>u.getNumber("completion_tokens", u.getNumber("output_tokens", 0));
  const total = u.getNumber("total_tokens", -1);
  if (total >= 0) return <i64>total;
  return <i64>(u.getNumber("prompt_tokens", u.getNumber("input_tokens", 0)) + u.getNumber("completion_tokens", u.getNumber("output_tokens", 0)));
}

/**
 * Tokens of the last `"usage": {...}` in `tail` (a member name, not text inside a string: a quote
 * in a string is escaped), or -1 when there is none (`"usage": null` does not count).
 */
export function lastUsage(tail: string, count: string): i64 {
  let at = tail.lastIndexOf("\"usage\"");
  while (at >= 0) {
    if (at == 0 || tail.charCodeAt(at - 1) != 0x5c) {
      let i = skipSpace(tail, at + 7);
      if (i < tail.length && tail.charCodeAt(i) == 0x3a) {
        i = skipSpace(tail, i + 1);
        if (i < tail.length && tail.charCodeAt(i) == 0x7b) {
          const end = objectEnd(tail, i);
          const u = end > 0 ? Json.parse(tail.substring(i, end)) : null;
          if (u !== null && u.isObject()) return tokensOf(u, count);
        }
      }
    }
    at = at > 0 ? tail.lastIndexOf("\"usage\"", at - 1) : -1;
  }
  return -1;
}
