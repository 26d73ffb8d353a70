//! The tokenizer shared by the tree parser and `Raw`'s readers: strings, numbers, literals.
#[allow(unused_imports)]
use crate::{format, vec, Box, String, ToOwned, ToString, Vec};
use super::value::Value;
use super::{Error, MAX_DEPTH};

pub(super) struct Parser<'a> {
    pub(super) s: &'a [u8],
    pub(super) i: usize,
    pub(super) depth: u32,
}

impl<'a> Parser<'a> {
    pub(super) fn err<T>(&self, msg: &'static str) -> Result<T, Error> {
        Err(Error { pos: self.i, msg })
    }
    pub(super) fn ws(&mut self) {
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

    pub(super) fn value(&mut self) -> Result<Value, Error> {
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

    pub(super) fn string(&mut self) -> Result<String, Error> {
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
    pub(super) fn number(&mut self) -> Result<Value, Error> {
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
