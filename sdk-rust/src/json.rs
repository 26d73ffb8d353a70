//! A small JSON reader for configs and request bodies (no serde here: the SDK has no deps).
//! `raw` validates a document and reads it in place ([`Raw`]: small and allocation-light, the
//! better choice in a filter); `parse` builds a [`Value`] tree. `member_span`/`set_member` work
//! on the text of a top-level object, so a filter can rewrite one field and keep the rest as is.
#[allow(unused_imports)]
use crate::{format, vec, Box, String, ToOwned, ToString, Vec};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    /// Members in document order; duplicate keys are kept, `get` returns the first.
    Object(Vec<(String, Value)>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// Byte offset where parsing stopped.
    pub pos: usize,
    pub msg: &'static str,
}

const MAX_DEPTH: u32 = 128; // bounded recursion: a hostile body must not overflow the stack

impl Value {
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }
    /// A non-negative integer that f64 holds exactly.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) if *n >= 0.0 && *n <= 9007199254740992.0 && *n == (*n as u64) as f64 => Some(*n as u64),
            _ => None,
        }
    }
    pub fn as_u32(&self) -> Option<u32> {
        self.as_u64().filter(|n| *n <= u32::MAX as u64).map(|n| n as u32)
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// Parses one JSON document (surrounding whitespace allowed, nothing else after it).
pub fn parse(src: &str) -> Result<Value, Error> {
    parse_bytes(src.as_bytes())
}

pub fn parse_bytes(src: &[u8]) -> Result<Value, Error> {
    let mut p = Parser { s: src, i: 0, depth: 0 };
    let v = p.value()?;
    p.ws();
    if p.i != src.len() {
        return p.err("trailing characters");
    }
    Ok(v)
}

/// Byte range of the value of `key` in a top-level JSON object (first occurrence).
pub fn member_span(src: &[u8], key: &str) -> Option<(usize, usize)> {
    let mut found = None;
    members(src, |k, start, end| {
        if found.is_none() && k == key {
            found = Some((start, end));
        }
    })
    .ok()?;
    found
}

/// The raw JSON text of `key`'s value in a top-level object, e.g. `{"a":1}` for an object.
pub fn member_raw<'a>(src: &'a [u8], key: &str) -> Option<&'a [u8]> {
    member_span(src, key).map(|(a, b)| &src[a..b])
}

/// `src` (a top-level object) with `key` set to the JSON text `raw`: every occurrence rewritten
/// in place, or the member inserted first if absent. None if `src` is not an object.
pub fn set_member(src: &[u8], key: &str, raw: &str) -> Option<Vec<u8>> {
    let mut spans = Vec::new();
    members(src, |k, a, b| {
        if k == key {
            spans.push((a, b))
        }
    })
    .ok()?;
    let mut out = Vec::with_capacity(src.len() + key.len() + raw.len() + 4);
    if spans.is_empty() {
        let open = src.iter().position(|&c| c == b'{')? + 1;
        out.extend_from_slice(&src[..open]);
        quote_into(&mut out, key);
        out.push(b':');
        out.extend_from_slice(raw.as_bytes());
        let rest = &src[open..];
        if rest.iter().any(|c| !c.is_ascii_whitespace() && *c != b'}') {
            out.push(b',');
        }
        out.extend_from_slice(rest);
        return Some(out);
    }
    let mut at = 0;
    for (a, b) in spans {
        out.extend_from_slice(&src[at..a]);
        out.extend_from_slice(raw.as_bytes());
        at = b;
    }
    out.extend_from_slice(&src[at..]);
    Some(out)
}

/// `src` without whitespace outside strings: one line, safe to carry in a header value.
pub fn minify(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    let (mut in_str, mut esc) = (false, false);
    for &c in src {
        if in_str {
            in_str = esc || c != b'"';
            esc = !esc && c == b'\\';
        } else if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        } else {
            in_str = c == b'"';
        }
        out.push(c);
    }
    out
}

/// Appends `s` as a JSON string literal (quotes and escapes included).
pub fn quote_into(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &c in s.as_bytes() {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

/// Calls `f(key, value_start, value_end)` for each member of a top-level object.
fn members(src: &[u8], mut f: impl FnMut(&str, usize, usize)) -> Result<(), Error> {
    let obj = raw(src)?;
    for (k, v) in obj.members() {
        let start = v.0.as_ptr() as usize - src.as_ptr() as usize;
        f(&k, start, start + v.0.len());
    }
    if obj.0.first() == Some(&b'{') { Ok(()) } else { Err(Error { pos: 0, msg: "not an object" }) }
}

/// A borrowed JSON value: its raw, already-validated text. Reading through `Raw` allocates only
/// for decoded strings and links far less code than building a [`Value`] tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raw<'a>(pub &'a [u8]);

/// Validates one JSON document and returns it as [`Raw`] (surrounding whitespace trimmed).
pub fn raw(src: &[u8]) -> Result<Raw<'_>, Error> {
    let mut i = ws(src, 0);
    let start = i;
    i = skip(src, i, 0)?;
    let end = i;
    if ws(src, i) != src.len() {
        return Err(Error { pos: i, msg: "trailing characters" });
    }
    Ok(Raw(&src[start..end]))
}

fn ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// End of the value starting at `i` (which must not be whitespace), checking its syntax.
fn skip(s: &[u8], i: usize, depth: u32) -> Result<usize, Error> {
    let err = |pos, msg| Err(Error { pos, msg });
    match s.get(i) {
        None => err(i, "unexpected end"),
        Some(b'"') => {
            let mut j = i + 1;
            loop {
                match s.get(j) {
                    None => return err(j, "unterminated string"),
                    Some(b'"') => return Ok(j + 1),
                    Some(b'\\') => j += 2,
                    Some(0..=0x1f) => return err(j, "control character in string"),
                    Some(_) => j += 1,
                }
            }
        }
        Some(&open @ (b'[' | b'{')) => {
            if depth >= MAX_DEPTH {
                return err(i, "nested too deep");
            }
            let close = open + 2; // ']' is '[' + 2, '}' is '{' + 2
            let mut j = ws(s, i + 1);
            if s.get(j) == Some(&close) {
                return Ok(j + 1);
            }
            loop {
                if open == b'{' {
                    if s.get(j) != Some(&b'"') {
                        return err(j, "expected a key");
                    }
                    j = ws(s, skip(s, j, depth)?);
                    if s.get(j) != Some(&b':') {
                        return err(j, "expected ':'");
                    }
                    j = ws(s, j + 1);
                }
                j = ws(s, skip(s, j, depth + 1)?);
                match s.get(j) {
                    Some(b',') => j = ws(s, j + 1),
                    Some(&c) if c == close => return Ok(j + 1),
                    _ => return err(j, "expected ',' or a closing bracket"),
                }
            }
        }
        Some(b't') if s[i..].starts_with(b"true") => Ok(i + 4),
        Some(b'f') if s[i..].starts_with(b"false") => Ok(i + 5),
        Some(b'n') if s[i..].starts_with(b"null") => Ok(i + 4),
        Some(_) => {
            let mut p = Parser { s, i, depth: 0 };
            p.number()?;
            Ok(p.i)
        }
    }
}

/// Iterates the members of an object or the items of an array (keys are None for arrays).
pub struct Entries<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = (Option<String>, Raw<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        // The text was validated by `raw`, so this walk only needs to find boundaries.
        let s = self.s;
        let mut j = ws(s, self.i);
        if j >= s.len() || matches!(s[j], b']' | b'}') {
            return None;
        }
        let mut key = None;
        if s[0] == b'{' {
            let end = skip(s, j, 0).ok()?;
            key = Raw(&s[j..end]).as_str();
            j = ws(s, ws(s, end) + 1);
        }
        let end = skip(s, j, 0).ok()?;
        self.i = ws(s, end) + 1; // past ',' (or the closing bracket)
        Some((key, Raw(&s[j..end])))
    }
}

impl<'a> Raw<'a> {
    /// Members of an object (empty for anything else); keys decoded.
    pub fn members(self) -> impl Iterator<Item = (String, Raw<'a>)> {
        let ok = self.0.first() == Some(&b'{');
        Entries { s: self.0, i: if ok { 1 } else { self.0.len() } }.map(|(k, v)| (k.unwrap_or_default(), v))
    }
    /// Items of an array (empty for anything else).
    pub fn items(self) -> impl Iterator<Item = Raw<'a>> {
        let ok = self.0.first() == Some(&b'[');
        Entries { s: self.0, i: if ok { 1 } else { self.0.len() } }.map(|(_, v)| v)
    }
    /// The first member named `key`.
    pub fn get(self, key: &str) -> Option<Raw<'a>> {
        self.members().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    pub fn as_str(self) -> Option<String> {
        if self.0.first() != Some(&b'"') {
            return None;
        }
        Parser { s: self.0, i: 0, depth: 0 }.string().ok()
    }
    pub fn as_f64(self) -> Option<f64> {
        match (Parser { s: self.0, i: 0, depth: 0 }).number() {
            Ok(Value::Number(n)) => Some(n),
            _ => None,
        }
    }
    pub fn as_u64(self) -> Option<u64> {
        Value::Number(self.as_f64()?).as_u64()
    }
    pub fn as_u32(self) -> Option<u32> {
        Value::Number(self.as_f64()?).as_u32()
    }
    pub fn as_bool(self) -> Option<bool> {
        match self.0 {
            b"true" => Some(true),
            b"false" => Some(false),
            _ => None,
        }
    }
    pub fn is_null(self) -> bool {
        self.0 == b"null"
    }
    pub fn is_object(self) -> bool {
        self.0.first() == Some(&b'{')
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: u32,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, msg: &'static str) -> Result<T, Error> {
        Err(Error { pos: self.i, msg })
    }
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            return true;
        }
        false
    }
    fn expect(&mut self, c: u8) -> Result<(), Error> {
        if self.eat(c) {
            Ok(())
        } else {
            self.err("unexpected character")
        }
    }
    fn lit(&mut self, word: &[u8], v: Value) -> Result<Value, Error> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            self.err("invalid literal")
        }
    }

    fn value(&mut self) -> Result<Value, Error> {
        self.ws();
        match self.s.get(self.i) {
            None => self.err("unexpected end"),
            Some(b'n') => self.lit(b"null", Value::Null),
            Some(b't') => self.lit(b"true", Value::Bool(true)),
            Some(b'f') => self.lit(b"false", Value::Bool(false)),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b'[') | Some(b'{') => {
                if self.depth >= MAX_DEPTH {
                    return self.err("nested too deep");
                }
                self.depth += 1;
                let v = if self.s[self.i] == b'[' { self.array() } else { self.object() };
                self.depth -= 1;
                v
            }
            Some(_) => self.number(),
        }
    }

    fn array(&mut self) -> Result<Value, Error> {
        self.i += 1;
        let mut a = Vec::new();
        self.ws();
        if self.eat(b']') {
            return Ok(Value::Array(a));
        }
        loop {
            a.push(self.value()?);
            self.ws();
            if self.eat(b']') {
                return Ok(Value::Array(a));
            }
            self.expect(b',')?;
        }
    }

    fn object(&mut self) -> Result<Value, Error> {
        self.i += 1;
        let mut m = Vec::new();
        self.ws();
        if self.eat(b'}') {
            return Ok(Value::Object(m));
        }
        loop {
            self.ws();
            let k = self.string()?;
            self.ws();
            self.expect(b':')?;
            let v = self.value()?;
            m.push((k, v));
            self.ws();
            if self.eat(b'}') {
                return Ok(Value::Object(m));
            }
            self.expect(b',')?;
        }
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let mut n = 0;
        for _ in 0..4 {
            let d = match self.s.get(self.i) {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return self.err("bad \\u escape"),
            };
            n = n * 16 + d as u32;
            self.i += 1;
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, Error> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            let start = self.i;
            while self.i < self.s.len() && !matches!(self.s[self.i], b'"' | b'\\' | 0..=0x1f) {
                self.i += 1;
            }
            out.extend_from_slice(&self.s[start..self.i]);
            match self.s.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return String::from_utf8(out).or_else(|_| self.err("invalid utf-8"));
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = match self.s.get(self.i) {
                        Some(c) => *c,
                        None => return self.err("unexpected end"),
                    };
                    self.i += 1;
                    let simple = match c {
                        b'"' | b'\\' | b'/' => c,
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => 0,
                        _ => return self.err("bad escape"),
                    };
                    if c != b'u' {
                        out.push(simple);
                        continue;
                    }
                    let mut cp = self.hex4()?;
                    if (0xD800..0xDC00).contains(&cp) && self.s[self.i..].starts_with(b"\\u") {
                        self.i += 2;
                        let lo = self.hex4()?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            return self.err("bad surrogate pair");
                        }
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    let ch = char::from_u32(cp).unwrap_or('\u{FFFD}'); // a lone surrogate
                    let mut b = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                }
                Some(_) => return self.err("control character in string"),
                None => return self.err("unterminated string"),
            }
        }
    }

    fn digits(&mut self, m: &mut u64, scale: &mut i32, frac: bool) -> usize {
        let start = self.i;
        while let Some(c @ b'0'..=b'9') = self.s.get(self.i).copied() {
            if *m < 1_000_000_000_000_000_000 {
                *m = *m * 10 + (c - b'0') as u64;
                if frac {
                    *scale -= 1;
                }
            } else if !frac {
                *scale += 1; // past 19 significant digits: keep the magnitude, drop precision
            }
            self.i += 1;
        }
        self.i - start
    }

    /// Exact for integers up to 2^53; other values within an ulp or so, plenty for configs.
    fn number(&mut self) -> Result<Value, Error> {
        let neg = self.eat(b'-');
        let (mut m, mut scale) = (0u64, 0i32);
        if self.digits(&mut m, &mut scale, false) == 0 {
            return self.err("invalid number");
        }
        if self.eat(b'.') && self.digits(&mut m, &mut scale, true) == 0 {
            return self.err("invalid number");
        }
        if self.eat(b'e') || self.eat(b'E') {
            let eneg = self.eat(b'-');
            if !eneg {
                self.eat(b'+');
            }
            let (mut e, mut unused) = (0u64, 0i32);
            if self.digits(&mut e, &mut unused, false) == 0 {
                return self.err("invalid number");
            }
            let e = e.min(1000) as i32;
            scale += if eneg { -e } else { e };
        }
        let mut v = m as f64;
        if scale < 0 {
            v /= pow10(-scale);
        } else if scale > 0 {
            v *= pow10(scale);
        }
        Ok(Value::Number(if neg { -v } else { v }))
    }
}

/// 10^n for n >= 0, as f64::powi computes it (compiler-builtins' __powidf2: square and multiply),
/// which is std-only on older rustc.
fn pow10(n: i32) -> f64 {
    let (mut a, mut n, mut r) = (10f64, n as u32, 1f64);
    loop {
        if n & 1 != 0 {
            r *= a;
        }
        n >>= 1;
        if n == 0 {
            return r;
        }
        a *= a;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values() {
        let v = parse(r#" {"a": [1, -2.5, 3e2, true, false, null], "s": "x\"\\\/\n\u00e9\ud83d\ude00", "o": {}} "#).unwrap();
        let a = v.get("a").unwrap().as_array().unwrap();
        assert_eq!(a[0].as_u64(), Some(1));
        assert_eq!(a[1].as_f64(), Some(-2.5));
        assert_eq!(a[2].as_u32(), Some(300));
        assert_eq!(a[3].as_bool(), Some(true));
        assert!(a[5].is_null());
        assert_eq!(v.get("s").unwrap().as_str(), Some("x\"\\/\né😀"));
        assert_eq!(v.get("o").unwrap().as_object().map(|o| o.len()), Some(0));
        assert_eq!(parse("1048576").unwrap().as_u32(), Some(1048576));
        assert_eq!(parse("0.1").unwrap().as_f64(), Some(0.1));
        assert_eq!(parse("\"héllo\"").unwrap().as_str(), Some("héllo"));
    }

    #[test]
    fn rejects_bad_input() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "01x", "1 2", "-", "1.", "\"\\x\"", "{\"a\":1,}"] {
            assert!(parse(bad).is_err(), "{}", bad);
        }
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "1 2", "{\"a\":1,}", "{1:2}"] {
            assert!(raw(bad.as_bytes()).is_err(), "{}", bad);
        }
        let deep = "[".repeat(1000);
        assert_eq!(raw(deep.as_bytes()).unwrap_err().msg, "nested too deep");
        assert_eq!(parse(&deep).unwrap_err().msg, "nested too deep");
    }

    #[test]
    fn raw_reader() {
        let src = br#" {"model": "gpt-\u00e9", "n": 42, "routes": {"a": "x", "b\"": "y"}, "l": [1, "two", {}], "t": true, "z": null} "#;
        let r = raw(src).unwrap();
        assert_eq!(r.get("model").and_then(|v| v.as_str()).as_deref(), Some("gpt-é"));
        assert_eq!(r.get("n").and_then(|v| v.as_u32()), Some(42));
        let routes: Vec<_> = r.get("routes").unwrap().members().map(|(k, v)| (k, v.as_str().unwrap())).collect();
        assert_eq!(routes, vec![("a".to_string(), "x".to_string()), ("b\"".to_string(), "y".to_string())]);
        let l: Vec<_> = r.get("l").unwrap().items().map(|v| v.0).collect();
        assert_eq!(l, vec![&b"1"[..], b"\"two\"", b"{}"]);
        assert_eq!(r.get("t").unwrap().as_bool(), Some(true));
        assert!(r.get("z").unwrap().is_null() && r.get("missing").is_none());
        assert_eq!(r.get("n").unwrap().as_str(), None);
        assert_eq!(raw(b"[]").unwrap().items().count(), 0);
    }

    #[test]
    fn spans_and_rewrites() {
        let body = br#"{"model":"gpt-4","max_tokens":512,"messages":[{"role":"user","content":"hi"}]}"#;
        assert_eq!(member_raw(body, "model"), Some(&b"\"gpt-4\""[..]));
        assert_eq!(member_raw(body, "messages").map(|r| r.len()), Some(32));
        assert_eq!(member_raw(body, "nope"), None);
        let out = set_member(body, "max_tokens", "1").unwrap();
        assert_eq!(out, br#"{"model":"gpt-4","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}"#.to_vec());
        let out = set_member(br#" { "model" : "m" } "#, "max_tokens", "1").unwrap();
        assert_eq!(parse_bytes(&out).unwrap().get("max_tokens").unwrap().as_u64(), Some(1));
        assert_eq!(set_member(b"{}", "k", "1").unwrap(), b"{\"k\":1}".to_vec());
        assert_eq!(set_member(b"[1]", "k", "1"), None);
        assert_eq!(minify(b"{ \"a b\" : [1, \"x\\\" y\"],\n \"c\": {} }"), b"{\"a b\":[1,\"x\\\" y\"],\"c\":{}}".to_vec());
        let mut q = Vec::new();
        quote_into(&mut q, "a\"b\u{1}é");
        assert_eq!(parse_bytes(&q).unwrap().as_str(), Some("a\"b\u{1}é"));
    }
}
