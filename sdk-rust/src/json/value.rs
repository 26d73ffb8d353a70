//! The owned JSON tree and the parser entry points that build it.
#[allow(unused_imports)]
use crate::{format, vec, Box, String, ToOwned, ToString, Vec};
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
