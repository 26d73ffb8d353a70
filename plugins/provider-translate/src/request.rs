//! OpenAI Chat Completions request -> Anthropic Messages request.
use crate::shape::{obj, s};
use crate::Config;
use praxis_filter::json::Value;
use praxis_filter::*;

pub struct Translated {
    pub body: Vec<u8>,
    pub stream: bool,
    /// `stream_options.include_usage`: the client wants a usage chunk before `[DONE]`.
    pub include_usage: bool,
}

/// One message's content for Anthropic: a string as is, text parts as text blocks.
fn content(v: &Value) -> Result<Value, String> {
    match v {
        Value::String(_) => Ok(v.clone()),
        Value::Array(parts) => {
            let mut blocks = Vec::new();
            for p in parts {
                match (p.get("type").and_then(|t| t.as_str()), p.get("text").and_then(|t| t.as_str())) {
                    (Some("text"), Some(t)) => blocks.push(obj(vec![("type", s("text")), ("text", s(t))])),
                    (kind, _) => return Err(String::from("content part of type ") + kind.unwrap_or("?") + " is not translated (text only)"),
                }
            }
            Ok(Value::Array(blocks))
        }
        _ => Err("message content must be a string or a list of text parts".into()),
    }
}

pub fn to_anthropic(body: &[u8], cfg: &Config) -> Result<Translated, String> {
    let req = json::parse_bytes(body).map_err(|e| String::from("body is not JSON: ") + e.msg)?;
    if req.as_object().is_none() {
        return Err("body is not a JSON object".into());
    }
    // Refused rather than dropped: a client asking for these would get a silently different answer.
    for key in ["tools", "functions"] {
        if req.get(key).and_then(|t| t.as_array()).map_or(false, |t| !t.is_empty()) {
            return Err(String::from(key) + " are not translated");
        }
    }
    if req.get("n").and_then(|n| n.as_u64()).map_or(false, |n| n > 1) {
        return Err("n above 1 is not translated".into());
    }
    let model = req.get("model").and_then(|m| m.as_str()).ok_or("model is required")?;
    let mapped = cfg.models.iter().find(|(from, _)| from == model).map(|(_, to)| to.as_str());
    let model = mapped.or(cfg.default_model.as_deref()).unwrap_or(model);
    let mut system = String::new();
    let mut messages = Vec::new();
    for m in req.get("messages").and_then(|m| m.as_array()).ok_or("messages is required")? {
        let role = m.get("role").and_then(|r| r.as_str()).unwrap_or("");
        let c = m.get("content").unwrap_or(&Value::Null);
        match role {
            // Anthropic has one top-level system prompt: the system turns, joined in order.
            "system" | "developer" => {
                if !system.is_empty() {
                    system.push_str("\n\n");
                }
                system.push_str(&crate::shape::text_of(c));
            }
            "user" | "assistant" => messages.push(obj(vec![("role", s(role)), ("content", content(c)?)])),
            _ => return Err(String::from("messages of role ") + role + " are not translated"),
        }
    }
    if messages.is_empty() {
        return Err("messages has no user or assistant turn".into());
    }
    let max = req.get("max_completion_tokens").or(req.get("max_tokens")).and_then(|v| v.as_u32()).unwrap_or(cfg.max_tokens);
    let mut out = obj(vec![("model", s(model)), ("max_tokens", Value::Number(max as f64)), ("messages", Value::Array(messages))]);
    if !system.is_empty() {
        out.set("system", Value::String(system));
    }
    match req.get("stop") {
        Some(Value::String(one)) => {
            out.set("stop_sequences", Value::Array(vec![s(one)]));
        }
        Some(Value::Array(list)) => {
            out.set("stop_sequences", Value::Array(list.clone()));
        }
        _ => {}
    }
    // OpenAI's temperature runs 0-2, Anthropic's 0-1: clamped, not scaled (1 means 1 in both).
    if let Some(t) = req.get("temperature").and_then(|t| t.as_f64()) {
        out.set("temperature", Value::Number(t.max(0.0).min(1.0)));
    }
    if let Some(p) = req.get("top_p").and_then(|t| t.as_f64()) {
        out.set("top_p", Value::Number(p));
    }
    if let Some(user) = req.get("user").and_then(|u| u.as_str()) {
        out.set("metadata", obj(vec![("user_id", s(user))]));
    }
    let stream = req.get("stream").and_then(|v| v.as_bool()).unwrap_or(false);
    if stream {
        out.set("stream", Value::Bool(true));
    }
    let include_usage = req.get("stream_options").and_then(|o| o.get("include_usage")).and_then(|v| v.as_bool()).unwrap_or(false);
    Ok(Translated { body: json::stringify(&out).into_bytes(), stream, include_usage })
}
