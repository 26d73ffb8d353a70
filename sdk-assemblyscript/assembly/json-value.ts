// The JSON tree (JsonValue) and the parser that builds it; the parser also notes where each
// member of a top-level object sits in the text, for the edits in json-edit.ts.

export const JSON_NULL: u8 = 0;
export const JSON_BOOL: u8 = 1;
export const JSON_NUMBER: u8 = 2;
export const JSON_STRING: u8 = 3;
export const JSON_ARRAY: u8 = 4;
export const JSON_OBJECT: u8 = 5;

export class JsonValue {
  kind: u8 = JSON_NULL;
  bool: bool = false;
  num: f64 = 0;
  str: string = "";
  items: JsonValue[] = []; // array elements, or object values
  keys: string[] = []; // object keys, parallel to items

  isString(): bool { return this.kind == JSON_STRING; }
  isNumber(): bool { return this.kind == JSON_NUMBER; }
  isBool(): bool { return this.kind == JSON_BOOL; }
  isArray(): bool { return this.kind == JSON_ARRAY; }
  isObject(): bool { return this.kind == JSON_OBJECT; }
  isNull(): bool { return this.kind == JSON_NULL; }

  /** Member of an object (the last one if a key repeats), or null. */
  get(key: string): JsonValue | null {
    if (this.kind != JSON_OBJECT) return null;
    for (let i = this.keys.length - 1; i >= 0; i--) if (this.keys[i] == key) return this.items[i];
    return null;
  }
  getString(key: string, fallback: string | null = null): string | null {
    const v = this.get(key);
    return v !== null && v.kind == JSON_STRING ? v.str : fallback;
  }
  getNumber(key: string, fallback: f64): f64 {
    const v = this.get(key);
    return v !== null && v.kind == JSON_NUMBER ? v.num : fallback;
  }
  getBool(key: string, fallback: bool): bool {
    const v = this.get(key);
    return v !== null && v.kind == JSON_BOOL ? v.bool : fallback;
  }
  /** Elements of an array member (empty if missing or not an array). */
  getArray(key: string): JsonValue[] {
    const v = this.get(key);
    return v !== null && v.kind == JSON_ARRAY ? v.items : [];
  }
  /** String elements of an array member; other elements are skipped. */
  getStringArray(key: string): string[] {
    const items = this.getArray(key);
    const out: string[] = [];
    for (let i = 0; i < items.length; i++) if (items[i].kind == JSON_STRING) out.push(items[i].str);
    return out;
  }
  get length(): i32 { return this.items.length; }
  at(i: i32): JsonValue { return this.items[i]; }

  // Builders, for Json.stringify (the Rust SDK's Value variants).
  static newNull(): JsonValue { return new JsonValue(); }
  static newBool(b: bool): JsonValue { const v = new JsonValue(); v.kind = JSON_BOOL; v.bool = b; return v; }
  static newNumber(n: f64): JsonValue { const v = new JsonValue(); v.kind = JSON_NUMBER; v.num = n; return v; }
  static newString(s: string): JsonValue { const v = new JsonValue(); v.kind = JSON_STRING; v.str = s; return v; }
  static newArray(): JsonValue { const v = new JsonValue(); v.kind = JSON_ARRAY; return v; }
  static newObject(): JsonValue { const v = new JsonValue(); v.kind = JSON_OBJECT; return v; }

  /** Appends to an array; false (nothing changed) when this is not an array. */
  push(item: JsonValue): bool {
    if (this.kind != JSON_ARRAY) return false;
    this.items.push(item);
    return true;
  }
  /**
   * Sets member `key` of an object (replacing the one `get` returns, else appending); false,
   * nothing changed, when this is not an object. As the Rust SDK's `Value::set`.
   */
  set(key: string, value: JsonValue): bool {
    if (this.kind != JSON_OBJECT) return false;
    for (let i = this.keys.length - 1; i >= 0; i--) {
      if (this.keys[i] == key) { this.items[i] = value; return true; }
    }
    this.keys.push(key);
    this.items.push(value);
    return true;
  }
  /** Removes every member named `key`; the value `get` returned, or null. As `Value::remove`. */
  remove(key: string): JsonValue | null {
    const found = this.get(key);
    if (found === null) return null;
    const keys: string[] = [];
    const items: JsonValue[] = [];
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] != key) { keys.push(this.keys[i]); items.push(this.items[i]); }
    }
    this.keys = keys;
    this.items = items;
    return found;
  }
}

export class Parser {
  pos: i32 = 0;
  failed: bool = false;
  // Members of the top-level object: key and the value's [start, end) in the text (Json.setMember).
  spanKeys: string[] = [];
  spanStarts: i32[] = [];
  spanEnds: i32[] = [];
  openAt: i32 = -1;
  constructor(public s: string) {}

  ws(): void {
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c != 32 && c != 9 && c != 10 && c != 13) break;
      this.pos++;
    }
  }
  fail(): JsonValue {
    this.failed = true;
    return new JsonValue();
  }
  lit(word: string): bool {
    if (this.s.substr(this.pos, word.length) != word) return false;
    this.pos += word.length;
    return true;
  }
  value(depth: i32): JsonValue {
    if (depth > 64) return this.fail(); // bounded recursion: a hostile body cannot blow the stack
    this.ws();
    if (this.pos >= this.s.length) return this.fail();
    const c = this.s.charCodeAt(this.pos);
    const v = new JsonValue();
    if (c == 0x7b /* { */) {
      v.kind = JSON_OBJECT;
      if (depth == 0) this.openAt = this.pos;
      this.pos++;
      this.ws();
      if (this.s.charCodeAt(this.pos) == 0x7d) { this.pos++; return v; }
      while (!this.failed) {
        this.ws();
        if (this.s.charCodeAt(this.pos) != 0x22) return this.fail();
        const k = this.string();
        this.ws();
        if (this.s.charCodeAt(this.pos) != 0x3a /* : */) return this.fail();
        this.pos++;
        v.keys.push(k);
        this.ws();
        const start = this.pos;
        v.items.push(this.value(depth + 1));
        if (depth == 0) {
          this.spanKeys.push(k);
          this.spanStarts.push(start);
          this.spanEnds.push(this.pos);
        }
        this.ws();
        const d = this.s.charCodeAt(this.pos++);
        if (d == 0x7d) return v;
        if (d != 0x2c) return this.fail();
      }
      return v;
    }
    if (c == 0x5b /* [ */) {
      v.kind = JSON_ARRAY;
      this.pos++;
      this.ws();
      if (this.s.charCodeAt(this.pos) == 0x5d) { this.pos++; return v; }
      while (!this.failed) {
        v.items.push(this.value(depth + 1));
        this.ws();
        const d = this.s.charCodeAt(this.pos++);
        if (d == 0x5d) return v;
        if (d != 0x2c) return this.fail();
      }
      return v;
    }
    if (c == 0x22) { v.kind = JSON_STRING; v.str = this.string(); return v; }
    if (this.lit("true")) { v.kind = JSON_BOOL; v.bool = true; return v; }
    if (this.lit("false")) { v.kind = JSON_BOOL; return v; }
    if (this.lit("null")) return v;
    const start = this.pos;
    while (this.pos < this.s.length) {
      const d = this.s.charCodeAt(this.pos);
      if (!((d >= 48 && d <= 57) || d == 45 || d == 43 || d == 46 || d == 101 || d == 69)) break;
      this.pos++;
    }
    if (this.pos == start) return this.fail();
    v.kind = JSON_NUMBER;
    v.num = parseFloat(this.s.substring(start, this.pos));
    if (isNaN(v.num)) return this.fail();
    return v;
  }
  /** At an opening quote; returns the unescaped contents. */
  string(): string {
    this.pos++;
    let out = "";
    let run = this.pos; // start of the current escape-free run
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c == 0x22) {
        out += this.s.substring(run, this.pos);
        this.pos++;
        return out;
      }
      if (c == 0x5c /* \ */) {
        out += this.s.substring(run, this.pos);
        const e = this.s.charCodeAt(this.pos + 1);
        this.pos += 2;
        if (e == 0x6e) out += "\n";
        else if (e == 0x74) out += "\t";
        else if (e == 0x72) out += "\r";
        else if (e == 0x62) out += "\b";
        else if (e == 0x66) out += "\f";
        else if (e == 0x75 /* u */) {
          const code = I32.parseInt(this.s.substr(this.pos, 4), 16);
          if (isNaN(<f64>code) || this.pos + 4 > this.s.length) { this.failed = true; return out; }
          out += String.fromCharCode(code); // surrogate halves pair up on their own
          this.pos += 4;
        } else out += String.fromCharCode(e); // \" \\ \/
        run = this.pos;
        continue;
      }
      this.pos++;
    }
    this.failed = true;
    return out;
  }
}

/** A JSON string literal (with quotes) for `s`. */
export function quoteString(s: string): string {
  let out = "\"";
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    out += s.substring(run, i);
    if (c == 0x22) out += "\\\"";
    else if (c == 0x5c) out += "\\\\";
    else if (c == 10) out += "\\n";
    else if (c == 13) out += "\\r";
    else if (c == 9) out += "\\t";
    else out += "\\u" + c.toString(16).padStart(4, "0");
    run = i + 1;
  }
  return out + s.substring(run) + "\"";
}
