//! Reading and rewriting the members of a top-level object, on its text.
#[allow(unused_imports)]
use crate::{format, vec, Box, String, ToOwned, ToString, Vec};
use super::raw::raw;
use super::Error;

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

/// `src` (a top-level object) without any member named `key`; the rest is kept byte for byte.
/// None if `src` is not an object (a copy of `src` when it has no such member).
pub fn remove_member(src: &[u8], key: &str) -> Option<Vec<u8>> {
    let mut out = src.to_vec();
    loop {
        let mut values = Vec::new(); // (start, end) of every member's value, in order
        let mut hit = None;
        members(&out, |k, a, b| {
            if hit.is_none() && k == key {
                hit = Some(values.len());
            }
            values.push((a, b));
        })
        .ok()?;
        let i = match hit {
            Some(i) => i,
            None => return Some(out),
        };
        // A member after the first goes with the comma before it; the first with the one after.
        let (from, to) = if i > 0 {
            (values[i - 1].1, values[i].1)
        } else {
            let open = out.iter().position(|&c| c == b'{')? + 1;
            let end = values[0].1;
            if values.len() > 1 {
                (open, end + out[end..].iter().position(|&c| c == b',')? + 1)
            } else {
                (open, end)
            }
        };
        out.drain(from..to);
    }
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
