// JSON for plugin configs and OpenAI-style bodies: a JsonValue tree (Json.parse, set/remove,
// Json.stringify) and edits on an object's text that keep the rest byte for byte (memberRaw,
// setMember, removeMember, minify). Names follow the Rust SDK's json module.
import { JsonValue, Parser, quoteString } from "./json-value";
import * as edit from "./json-edit";

export { JsonValue, JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } from "./json-value";

export namespace Json {
  /** Parses a JSON text; null if it is not valid JSON. */
  export function parse(text: string): JsonValue | null {
    const p = new Parser(text);
    const v = p.value(0);
    p.ws();
    if (p.failed || p.pos != text.length) return null;
    return v;
  }

  /** A JSON string literal (with quotes) for `s`. */
  export function quote(s: string): string { return quoteString(s); }

  /** The JSON text of `v`, compact. As Rust's `json::stringify`. */
  export function stringify(v: JsonValue): string { return edit.stringify(v); }
  /** The raw JSON text of `key`'s value in a top-level object (the first), or null. As `member_raw`. */
  export function memberRaw(text: string, key: string): string | null { return edit.memberRaw(text, key); }
  /** `text` with member `key` set to the JSON text `raw` (inserted first if absent); null if not an object. As `set_member`. */
  export function setMember(text: string, key: string, raw: string): string | null { return edit.setMember(text, key, raw); }
  /** `text` without any member named `key`; null if not an object. As `remove_member`. */
  export function removeMember(text: string, key: string): string | null { return edit.removeMember(text, key); }
  /** `text` without whitespace outside strings. As `minify`. */
  export function minify(text: string): string { return edit.minify(text); }

  /** `model` of an OpenAI-style chat body, or null. */
  export function chatModel(body: JsonValue): string | null {
    return body.getString("model");
  }

  /**
   * Text of the last `user` message of an OpenAI-style chat body (`messages[].content`, a
   * string or an array of `{type: "text", text}` parts, joined by "\n"), or null.
   */
  export function lastUserMessage(body: JsonValue): string | null {
    const msgs = body.getArray("messages");
    for (let i = msgs.length - 1; i >= 0; i--) {
      const m = msgs[i];
      if (m.getString("role") != "user") continue;
      const c = m.get("content");
      if (c === null) return null;
      if (c.isString()) return c.str;
      if (!c.isArray()) return null;
      const parts: string[] = [];
      for (let j = 0; j < c.items.length; j++) {
        const t = c.items[j].getString("text");
        if (t !== null) parts.push(t);
      }
      return parts.join("\n");
    }
    return null;
  }
}
