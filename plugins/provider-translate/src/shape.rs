//! Small builders for the JSON both APIs speak, and the OpenAI error body the filter answers with.
use praxis_filter::json::Value;
use praxis_filter::*;

pub fn obj(members: Vec<(&str, Value)>) -> Value {
    Value::Object(members.into_iter().map(|(k, v)| (String::from(k), v)).collect())
}

pub fn s(text: &str) -> Value {
    Value::String(text.into())
}

pub fn n(v: u64) -> Value {
    Value::Number(v as f64)
}

/// OpenAI's error body: what an OpenAI client expects to read on a 4xx/5xx.
pub fn openai_error(kind: &str, message: &str) -> Vec<u8> {
    let body = obj(vec![("error", obj(vec![("message", s(message)), ("type", s(kind)), ("param", Value::Null), ("code", Value::Null)]))]);
    json::stringify(&body).into_bytes()
}

/// The text of a message's `content`: a string, or the `text` of its parts.
pub fn text_of(content: &Value) -> String {
    match content {
        Value::String(t) => t.clone(),
        Value::Array(parts) => {
            let mut out = String::new();
            for p in parts {
                if let Some(t) = p.get("text").and_then(|t| t.as_str()) {
                    out.push_str(t);
                }
            }
            out
        }
        _ => String::new(),
    }
}

/// Anthropic's stop reason as OpenAI's finish reason.
pub fn finish_reason(stop: Option<&str>) -> &'static str {
    match stop {
        Some("max_tokens") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}
