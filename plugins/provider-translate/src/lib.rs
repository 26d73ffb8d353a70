//! provider-translate: an OpenAI Chat Completions client served by an Anthropic Messages backend.
//! Runs as an upstream filter of that backend: the request is rewritten on the way out (path,
//! body, model name mapped per backend), the answer on the way back, whole or streamed. A stream
//! is translated event by event as its chunks arrive, never held whole. Credentials are not this
//! filter's business (upstream-auth sets them).
//!
//! Every decision is keyed by the attempt (`provider-translate.<attempt>.`): the request's context
//! outlives an attempt, and a failover to another backend must not inherit this one's state.
#![no_std]
use praxis_filter::*;

mod date;
mod request;
mod response;
mod shape;
mod stream;

pub struct Config {
    /// OpenAI model name -> this backend's model name.
    pub models: Vec<(String, String)>,
    /// For a model `models` does not name (none: the name passes as is).
    pub default_model: Option<String>,
    /// Anthropic requires max_tokens; used when the request sets neither max_tokens nor max_completion_tokens.
    pub max_tokens: u32,
    path: String,
    max_bytes: u32,
    max_event_bytes: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config { models: Vec::new(), default_model: None, max_tokens: 4096, path: "/v1/messages".into(), max_bytes: 1 << 20, max_event_bytes: 64 << 10 }
    }
}

#[derive(Default)]
struct ProviderTranslate {
    cfg: Config,
}

const TAG: &str = "provider-translate";

fn state(info: &RequestInfo) -> stream::State {
    let mut p = String::from(TAG);
    p.push('.');
    push_u32(&mut p, info.attempt);
    p.push('.');
    stream::State::new(p)
}

fn u32_at(cfg: &json::Raw, key: &str, default: u32) -> Result<u32, String> {
    match cfg.get(key) {
        None => Ok(default),
        Some(v) => v.as_u32().ok_or_else(|| String::from(key) + " must be a non-negative integer"),
    }
}

fn bad_request(message: &str) -> Action {
    let body = shape::openai_error("invalid_request_error", &(String::from("provider-translate: ") + message));
    Action::Reject(Rejection::new(400).header("content-type", "application/json").body(body))
}

impl Filter for ProviderTranslate {
    fn configure(&mut self, config: &str) -> Result<FilterInfo, String> {
        let raw = json::raw(config.as_bytes()).map_err(|e| String::from("config is not JSON: ") + e.msg)?;
        let mut cfg = Config::default();
        if let Some(models) = raw.get("models") {
            for (from, to) in models.members() {
                cfg.models.push((from, to.as_str().ok_or("models values must be strings")?));
            }
        }
        if let Some(m) = raw.get("defaultModel") {
            cfg.default_model = Some(m.as_str().ok_or("defaultModel must be a string")?);
        }
        if let Some(p) = raw.get("path") {
            cfg.path = p.as_str().filter(|p| p.starts_with('/')).ok_or("path must be a string starting with /")?;
        }
        cfg.max_tokens = u32_at(&raw, "maxTokens", cfg.max_tokens)?;
        cfg.max_bytes = u32_at(&raw, "maxBytes", cfg.max_bytes)?;
        cfg.max_event_bytes = u32_at(&raw, "maxEventBytes", cfg.max_event_bytes)?;
        self.cfg = cfg;
        Ok(FilterInfo::new(TAG).request_body(BodyMode::StreamBuffer(self.cfg.max_bytes)).response_body(BodyMode::Stream))
    }

    fn on_request_headers(&mut self, info: &RequestInfo, head: &RequestHead) -> Action {
        let st = state(info);
        let path = head.path.split('?').next().unwrap_or("");
        if head.method != "POST" || !path.ends_with("/chat/completions") {
            st.set("on", "");
            return Action::Continue(None);
        }
        st.set("on", "1");
        // `:path` is the upstream's path: Anthropic answers on /v1/messages. The answer must come
        // back uncompressed to be translated (clients such as the openai SDK accept gzip).
        let m = Mutations::new().set_header(":path", self.cfg.path.as_str()).set_header("content-type", "application/json");
        Action::mutate(m.set_header("accept-encoding", "identity").remove_header("content-length"))
    }

    fn on_request_body(&mut self, info: &RequestInfo, chunk: Vec<u8>, end_of_stream: bool) -> Action {
        let st = state(info);
        if st.get("on") != "1" {
            return Action::BodyDone;
        }
        let body = match collect_body(info, Direction::Request, TAG, chunk, end_of_stream) {
            Some(b) => b,
            None => return Action::Continue(None),
        };
        match request::to_anthropic(&body, &self.cfg) {
            Ok(t) => {
                st.set("stream", if t.stream { "1" } else { "" });
                st.set("usage", if t.include_usage { "1" } else { "" });
                Action::mutate(Mutations::new().body(t.body))
            }
            Err(why) => bad_request(&why),
        }
    }

    fn on_response_headers(&mut self, info: &RequestInfo, head: &ResponseHead) -> Action {
        let st = state(info);
        if st.get("on") != "1" {
            return Action::Continue(None);
        }
        if head.headers.get("content-encoding").map_or(false, |e| !e.eq_ignore_ascii_case("identity")) {
            // Encoded despite accept-encoding: identity; passed on as it came, not garbled.
            log::warn("the upstream answered with a content-encoding; its answer passes untranslated");
            st.set("on", "");
            return Action::Continue(None);
        }
        let sse = head.headers.get("content-type").map_or(false, |c| c.starts_with("text/event-stream"));
        st.set("kind", if sse { "sse" } else { "json" });
        // The host's clock; the upstream's `date` header only if it reads 0 (no clock).
        let now = praxis_filter::clock::now_ms();
        let created = if now > 0 { now / 1000 } else { date::unix_seconds(head.headers.get("date").unwrap_or("")) };
        let mut c = String::new();
        push_u32(&mut c, created.min(u32::MAX as u64) as u32);
        st.set("created", &c);
        let ct = if sse { "text/event-stream" } else { "application/json" };
        Action::mutate(Mutations::new().set_header("content-type", ct).remove_header("content-length"))
    }

    fn on_response_body(&mut self, info: &RequestInfo, chunk: Vec<u8>, end_of_stream: bool) -> Action {
        let st = state(info);
        if st.get("on") != "1" {
            return Action::BodyDone;
        }
        if st.get("kind") == "sse" {
            let out = match stream::translate(&st, &chunk, self.cfg.max_event_bytes as usize) {
                Ok(out) => out,
                Err(()) => {
                    log::warn("an upstream event exceeded maxEventBytes; the stream was closed");
                    stream::overflow(&st)
                }
            };
            return Action::mutate(Mutations::new().body(out));
        }
        // A whole answer (or an error) is one JSON document: held, then translated at its end.
        match collect_body(info, Direction::Response, TAG, chunk, end_of_stream) {
            None => Action::mutate(Mutations::new().body(Vec::new())),
            Some(body) => {
                let created: u64 = st.get("created").parse().unwrap_or(0);
                let out = response::to_openai(&body, created).unwrap_or(body);
                Action::mutate(Mutations::new().body(out))
            }
        }
    }
}

export_filter!(ProviderTranslate);
