//! The owned JSON tree and the parser entry points that build it.
#[allow(unused_imports)]
use crate::{format, vec, Box, String, ToOwned, ToString, Vec};
use super::edit::quote_into;
use super::parser::Parser;
use super::Error;

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
    /// Sets member `key` of an object (replacing the first of that name, else appending);
    /// false, and nothing changed, when `self` is not an object.
    pub fn set(&mut self, key: &str, value: Value) -> bool {
        match self {
            Value::Object(m) => {
                match m.iter_mut().find(|(k, _)| k == key) {
                    Some(slot) => slot.1 = value,
                    None => m.push((key.into(), value)),
                }
                true
            }
            _ => false,
        }
    }
    /// Removes every member named `key` of an object; the first one's value, if there was one.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        match self {
            Value::Object(m) => {
                let first = m.iter().position(|(k, _)| k == key).map(|i| m.remove(i).1);
                m.retain(|(k, _)| k != key);
                first
            }
            _ => None,
        }
    }
}

/// The JSON text of `v`, compact (no whitespace). Integers are written without core::fmt;
/// other numbers use it (~5 KB more wasm once used). NaN and infinities are written as null.
pub fn stringify(v: &Value) -> String {
    let mut out = Vec::new();
    write_value(&mut out, v);
    String::from_utf8(out).unwrap_or_default()
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => write_number(out, *n),
        Value::String(s) => quote_into(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(members) => {
            out.push(b'{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                quote_into(out, k);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

fn write_number(out: &mut Vec<u8>, n: f64) {
    if !n.is_finite() {
        out.extend_from_slice(b"null");
    } else if n >= -9007199254740992.0 && n <= 9007199254740992.0 && n == (n as i64) as f64 {
        if n < 0.0 {
            out.push(b'-');
        }
        let mut m = (n as i64).unsigned_abs();
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (m % 10) as u8;
            m /= 10;
            if m == 0 {
                break;
            }
        }
        out.extend_from_slice(&digits[i..]);
    } else {
        out.extend_from_slice(format!("{}", n).as_bytes());
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
