//! A whole Anthropic Messages response (or error) -> an OpenAI chat completion (or error).
use crate::shape::{finish_reason, n, obj, s};
use praxis_filter::json::Value;
use praxis_filter::*;

/// None when the body is neither a message nor an error: it then passes unchanged.
pub fn to_openai(body: &[u8], created: u64) -> Option<Vec<u8>> {
    let msg = json::parse_bytes(body).ok()?;
    match msg.get("type").and_then(|t| t.as_str())? {
        "message" => {
            let mut text = String::new();
            for block in msg.get("content").and_then(|c| c.as_array()).unwrap_or(&[]) {
                if block.get("type").and_then(|t| t.as_str()) == Some("text") {
                    text.push_str(block.get("text").and_then(|t| t.as_str()).unwrap_or(""));
                }
            }
            let usage = msg.get("usage");
            let input = usage.and_then(|u| u.get("input_tokens")).and_then(|v| v.as_u64()).unwrap_or(0);
            let output = usage.and_then(|u| u.get("output_tokens")).and_then(|v| v.as_u64()).unwrap_or(0);
            let stop = msg.get("stop_reason").and_then(|r| r.as_str());
            let message = obj(vec![("role", s("assistant")), ("content", Value::String(text)), ("refusal", Value::Null)]);
            let choice = obj(vec![("index", n(0)), ("message", message), ("logprobs", Value::Null), ("finish_reason", s(finish_reason(stop)))]);
            let out = obj(vec![
                ("id", s(msg.get("id").and_then(|v| v.as_str()).unwrap_or(""))),
                ("object", s("chat.completion")),
                ("created", n(created)),
                ("model", s(msg.get("model").and_then(|v| v.as_str()).unwrap_or(""))),
                ("choices", Value::Array(vec![choice])),
                ("usage", obj(vec![("prompt_tokens", n(input)), ("completion_tokens", n(output)), ("total_tokens", n(input + output))])),
            ]);
            Some(json::stringify(&out).into_bytes())
        }
        "error" => Some(error(&msg)),
        _ => None,
    }
}

/// Anthropic's `{"type":"error","error":{type,message}}` as OpenAI's `{"error":{message,type,...}}`.
pub fn error(msg: &Value) -> Vec<u8> {
    let e = msg.get("error");
    let kind = e.and_then(|e| e.get("type")).and_then(|t| t.as_str()).unwrap_or("api_error");
    let message = e.and_then(|e| e.get("message")).and_then(|t| t.as_str()).unwrap_or("upstream error");
    crate::shape::openai_error(kind, message)
}
