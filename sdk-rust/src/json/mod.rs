//! A small JSON reader for configs and request bodies (no serde here: the SDK has no deps).
//! `raw` validates a document and reads it in place ([`Raw`]: small and allocation-light, the
//! better choice in a filter); `parse` builds a [`Value`] tree (`set`/`remove` members, then
//! `stringify`). `member_span`/`set_member`/`remove_member` work on the text of a top-level
//! object, so a filter can rewrite one field and keep the rest as is.
//!
//! Parts: `value` (the tree), `raw` (validated text read in place), `edit` (rewriting members
//! of an object's text), `parser` (the tokenizer both readers share).
#[allow(unused_imports)]
use crate::{format, vec, Box, String, ToOwned, ToString, Vec};

mod edit;
mod parser;
mod raw;
mod value;

pub use edit::{member_raw, member_span, minify, quote_into, remove_member, set_member};
pub use raw::{raw, Entries, Raw};
pub use value::{parse, parse_bytes, stringify, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// Byte offset where parsing stopped.
    pub pos: usize,
    pub msg: &'static str,
}

const MAX_DEPTH: u32 = 128; // bounded recursion: a hostile body must not overflow the stack

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
        assert_eq!(remove_member(br#"{"a":1, "b":[2], "c":{"b":3}}"#, "b").unwrap(), br#"{"a":1, "c":{"b":3}}"#.to_vec());
        assert_eq!(remove_member(br#"{ "a" : 1 , "b":2}"#, "a").unwrap(), br#"{ "b":2}"#.to_vec());
        assert_eq!(remove_member(br#"{"a":1,"a":2}"#, "a").unwrap(), b"{}".to_vec());
        assert_eq!(remove_member(br#"{"a":1}"#, "z").unwrap(), br#"{"a":1}"#.to_vec());
        assert_eq!(remove_member(b"[1]", "a"), None);
        let mut q = Vec::new();
        quote_into(&mut q, "a\"b\u{1}é");
        assert_eq!(parse_bytes(&q).unwrap().as_str(), Some("a\"b\u{1}é"));
    }

    #[test]
    fn tree_edits_and_writer() {
        let mut v = parse(r#"{"model":"m","n":1,"n":2}"#).unwrap();
        assert!(v.set("model", Value::String("x\"y".into())));
        assert!(v.set("max_tokens", Value::Number(16.0)));
        assert_eq!(v.remove("n"), Some(Value::Number(1.0)));
        assert_eq!(v.remove("n"), None);
        assert_eq!(stringify(&v), r#"{"model":"x\"y","max_tokens":16}"#);
        let all = parse(r#"[null,true,-3,0.5,-0.25,"é\n",{},[]]"#).unwrap();
        assert_eq!(parse(&stringify(&all)).unwrap(), all);
        assert_eq!(stringify(&Value::Number(-9007199254740992.0)), "-9007199254740992");
        assert!(!Value::Null.set("a", Value::Null));
    }
}
