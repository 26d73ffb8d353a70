//! Validated JSON text, read in place.
#[allow(unused_imports)]
use crate::{format, vec, Box, String, ToOwned, ToString, Vec};
use super::parser::Parser;
use super::value::Value;
use super::{Error, MAX_DEPTH};

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
