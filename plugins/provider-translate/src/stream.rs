//! Anthropic Messages SSE -> OpenAI chat.completion.chunk SSE, event by event as chunks arrive.
//! Instances are not pinned to a request, so everything kept between chunks lives in the
//! request's context (`State`): the bytes of an event split across chunks (the carry-over, bounded),
//! the message id and model from `message_start`, and the token counts for the usage chunk.
use crate::shape::{finish_reason, n, obj, s};
use praxis_filter::json::Value;
use core::cell::RefCell;
use praxis_filter::*;

/// One hook call's view of the request's state. Values read are remembered for the call: a chunk
/// of twenty events would otherwise ask the host for the id, model and `created` sixty times.
pub struct State {
    prefix: String,
    seen: RefCell<Vec<(String, String)>>,
}

impl State {
    pub fn new(prefix: String) -> Self {
        State { prefix, seen: RefCell::new(Vec::new()) }
    }
    fn key(&self, name: &str) -> String {
        self.prefix.clone() + name
    }
    pub fn get(&self, name: &str) -> String {
        if let Some((_, v)) = self.seen.borrow().iter().find(|(k, _)| k == name) {
            return v.clone();
        }
        let v = context::get_str(&self.key(name)).unwrap_or_default();
        self.seen.borrow_mut().push((name.into(), v.clone()));
        v
    }
    pub fn set(&self, name: &str, value: &str) {
        context::set(&self.key(name), value.as_bytes());
        let mut seen = self.seen.borrow_mut();
        match seen.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value.into(),
            None => seen.push((name.into(), value.into())),
        }
    }
    fn num(&self, name: &str) -> u64 {
        self.get(name).parse().unwrap_or(0)
    }
    fn set_num(&self, name: &str, v: u64) {
        let mut t = String::new();
        // push_u32 would truncate a count past 4G tokens; two halves keep it exact and fmt-free.
        if v > u32::MAX as u64 {
            push_u32(&mut t, (v / 1_000_000_000) as u32);
            let low = (v % 1_000_000_000) as u32;
            let mut l = String::new();
            push_u32(&mut l, low);
            for _ in l.len()..9 {
                t.push('0');
            }
            t.push_str(&l);
        } else {
            push_u32(&mut t, v as u32);
        }
        self.set(name, &t);
    }
}

fn sse(out: &mut Vec<u8>, v: &Value) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(json::stringify(v).as_bytes());
    out.extend_from_slice(b"\n\n");
}

fn chunk(st: &State, choices: Value, usage: Option<Value>) -> Value {
    let mut c = obj(vec![
        ("id", Value::String(st.get("id"))),
        ("object", s("chat.completion.chunk")),
        ("created", n(st.num("created"))),
        ("model", Value::String(st.get("model"))),
        ("choices", choices),
    ]);
    if let Some(u) = usage {
        c.set("usage", u);
    }
    c
}

fn delta(st: &State, delta: Value, finish: Option<&str>) -> Value {
    let f = finish.map(s).unwrap_or(Value::Null);
    let choice = obj(vec![("index", n(0)), ("delta", delta), ("logprobs", Value::Null), ("finish_reason", f)]);
    chunk(st, Value::Array(vec![choice]), None)
}

fn done(out: &mut Vec<u8>, st: &State) {
    out.extend_from_slice(b"data: [DONE]\n\n");
    st.set("done", "1");
}

fn text(v: Option<&Value>) -> &str {
    v.and_then(|t| t.as_str()).unwrap_or("")
}

/// One complete event (its `data:` payload) translated into `out`.
fn event(st: &State, data: &[u8], out: &mut Vec<u8>) {
    let ev = match json::parse_bytes(data) {
        Ok(ev) => ev,
        Err(_) => return,
    };
    match text(ev.get("type")) {
        "message_start" => {
            let m = ev.get("message");
            st.set("id", text(m.and_then(|m| m.get("id"))));
            st.set("model", text(m.and_then(|m| m.get("model"))));
            st.set_num("input", m.and_then(|m| m.get("usage")).and_then(|u| u.get("input_tokens")).and_then(|v| v.as_u64()).unwrap_or(0));
            sse(out, &delta(st, obj(vec![("role", s("assistant")), ("content", s(""))]), None));
        }
        "content_block_start" => {
            let t = text(ev.get("content_block").and_then(|b| b.get("text")));
            if !t.is_empty() {
                sse(out, &delta(st, obj(vec![("content", s(t))]), None));
            }
        }
        "content_block_delta" => {
            let d = ev.get("delta");
            if text(d.and_then(|d| d.get("type"))) == "text_delta" {
                sse(out, &delta(st, obj(vec![("content", s(text(d.and_then(|d| d.get("text")))))]), None));
            }
        }
        "message_delta" => {
            if let Some(o) = ev.get("usage").and_then(|u| u.get("output_tokens")).and_then(|v| v.as_u64()) {
                st.set_num("output", o);
            }
            let stop = ev.get("delta").and_then(|d| d.get("stop_reason")).and_then(|r| r.as_str());
            sse(out, &delta(st, obj(vec![]), Some(finish_reason(stop))));
        }
        "message_stop" => {
            if st.get("usage") == "1" {
                let (i, o) = (st.num("input"), st.num("output"));
                let usage = obj(vec![("prompt_tokens", n(i)), ("completion_tokens", n(o)), ("total_tokens", n(i + o))]);
                sse(out, &chunk(st, Value::Array(vec![]), Some(usage)));
            }
            done(out, st);
        }
        "error" => {
            // OpenAI's stream carries an error as a data line with `error`; its clients raise it.
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(&crate::response::error(&ev));
            out.extend_from_slice(b"\n\n");
            done(out, st);
        }
        _ => {} // ping, content_block_stop, and events this translation has no use for
    }
}

/// The `data:` payload of one event's text (lines joined by \n, as SSE says).
fn data_of(ev: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    for line in ev.split(|b| *b == b'\n') {
        let rest = match line.strip_prefix(b"data:") {
            Some(rest) => rest,
            None => continue,
        };
        if !data.is_empty() {
            data.push(b'\n');
        }
        data.extend_from_slice(rest.strip_prefix(b" ").unwrap_or(rest));
    }
    data
}

/// Translates the complete events in carry-over + `chunk`, keeping an unfinished one for the next.
/// `Err` when an event grows past `max_event` bytes without ending (the stream is then closed).
pub fn translate(st: &State, chunk: &[u8], max_event: usize) -> Result<Vec<u8>, ()> {
    let mut out = Vec::new();
    if st.get("done") == "1" {
        return Ok(out);
    }
    let mut buf = context::get(&st.key("carry")).unwrap_or_default();
    // CRLF and CR line ends read as LF (SSE allows all three).
    for &b in chunk {
        if b == b'\n' && buf.last() == Some(&b'\r') {
            buf.pop();
        }
        buf.push(if b == b'\r' { b'\n' } else { b });
    }
    let mut start = 0;
    while let Some(end) = buf[start..].windows(2).position(|w| w == b"\n\n") {
        let data = data_of(&buf[start..start + end]);
        if !data.is_empty() {
            event(st, &data, &mut out);
        }
        start += end + 2;
        if st.get("done") == "1" {
            break;
        }
    }
    let rest = &buf[start..];
    if rest.len() > max_event {
        context::set(&st.key("carry"), b"");
        return Err(());
    }
    context::set(&st.key("carry"), rest);
    Ok(out)
}

/// What closes the client's stream when an event ran past the bound: an error line and [DONE].
pub fn overflow(st: &State) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(&crate::shape::openai_error("upstream_error", "provider-translate: an upstream event exceeded maxEventBytes"));
    out.extend_from_slice(b"\n\n");
    done(&mut out, st);
    out
}
