//! pd-disagg: LLM prefill/decode disaggregation inside the gateway, without a sidecar.
//! For a POST completion/chat request: run a 1-token prefill on one of `prefill`, take the
//! `kv_transfer_params` it returns, and forward the request to `decodeUpstream` with them.
//! Retry-safe: progress is checkpointed in the request's context (`pd-step`), so a retried
//! attempt reuses the stored KV params instead of prefilling again.
#![no_std]
use praxis_filter::*;

const STEP: &str = "pd-step";
const KV: &str = "pd-kv";
const ENDPOINT: &str = "pd-endpoint";
/// Set by the headers hook: the body hook does not see the method, and may run on another instance.
const IS_POST: &str = "pd-post";

#[derive(Default)]
struct PdDisagg {
    prefill: Vec<String>,
    decode: String,
    timeout_ms: u32,
}

/// FNV-1a: a stable spread of request ids over the prefill endpoints.
fn hash(s: &str) -> u32 {
    s.bytes().fold(0x811c9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x01000193))
}

fn text(v: Vec<u8>) -> String {
    String::from_utf8(v).unwrap_or_default()
}

impl PdDisagg {
    /// Tries each endpoint once, from a per-request starting point; the KV params and endpoint.
    fn prefill(&self, info: &RequestInfo, body: &[u8]) -> Option<(String, String)> {
        let one_token = json::set_member(body, "max_tokens", "1")?;
        let n = self.prefill.len();
        let start = hash(&info.request_id) as usize % n.max(1);
        for i in 0..n {
            let ep = &self.prefill[(start + i) % n];
            context::set(STEP, b"PREFILL_SELECTED");
            context::set(ENDPOINT, ep.as_bytes());
            let req = Subrequest::post(ep.clone() + "/v1/completions", one_token.clone())
                .header("content-type", "application/json")
                .header("x-prefill-request-id", info.request_id.as_str())
                .timeout_ms(self.timeout_ms);
            let resp = match http_subrequest(&req) {
                Ok(r) if (200..300).contains(&r.status) => r,
                Ok(_) => continue, // 5xx (or any non-2xx): the next endpoint may do better
                Err(SubrequestError::Cancelled) => return None, // the client is gone
                Err(_) => continue, // timeout, connect error, overload: try the next one
            };
            let kv = json::raw(&resp.body).ok().and_then(|r| r.get("kv_transfer_params"));
            if let Some(kv) = kv.filter(|v| v.is_object()) {
                return Some((text(json::minify(kv.0)), ep.clone()));
            }
        }
        None
    }
}

impl Filter for PdDisagg {
    fn configure(&mut self, config: &str) -> Result<FilterInfo, String> {
        let cfg = json::raw(config.as_bytes()).map_err(|e| String::from("config is not JSON: ") + e.msg)?;
        for ep in cfg.get("prefill").map(|v| v.items()).into_iter().flatten() {
            let ep = ep.as_str().ok_or("prefill must be a list of URLs")?;
            self.prefill.push(ep.trim_end_matches('/').into());
        }
        if self.prefill.is_empty() {
            return Err("prefill must list at least one endpoint".into());
        }
        self.decode = cfg.get("decodeUpstream").and_then(|v| v.as_str()).ok_or("decodeUpstream (a string) is required")?;
        self.timeout_ms = cfg.get("timeoutMs").map_or(Some(2000), |v| v.as_u32()).ok_or("timeoutMs must be an integer")?;
        let max = cfg.get("maxBytes").map_or(Some(1 << 20), |v| v.as_u32()).ok_or("maxBytes must be an integer")?;
        Ok(FilterInfo::new("pd-disagg").request_body(BodyMode::StreamBuffer(max)).without_response_headers())
    }

    fn on_request_headers(&mut self, _info: &RequestInfo, head: &RequestHead) -> Action {
        if head.method.eq_ignore_ascii_case("POST") {
            context::set(IS_POST, b"1");
        }
        Action::Continue(None)
    }

    fn on_request_body(&mut self, info: &RequestInfo, chunk: Vec<u8>, end_of_stream: bool) -> Action {
        if context::get(IS_POST).is_none() {
            return Action::BodyDone;
        }
        let body = match collect_body(info, Direction::Request, "pd-disagg", chunk, end_of_stream) {
            Some(b) => b,
            None => return Action::Continue(None),
        };
        // Only OpenAI-style completion/chat requests take the prefill detour.
        let is_llm = json::raw(&body).map_or(false, |r| r.get("prompt").is_some() || r.get("messages").is_some());
        if !is_llm {
            return Action::Continue(None);
        }
        let step = context::get_str(STEP).unwrap_or_default();
        let done = step == "PREFILL_COMPLETE" || step == "DECODE_FORWARDED";
        let stored = if done { context::get_str(KV).zip(context::get_str(ENDPOINT)) } else { None };
        let (kv, ep) = match stored {
            Some(s) => s, // a retry: the prefill already ran, reuse its KV params
            None => match self.prefill(info, &body) {
                Some(r) => {
                    context::set(KV, r.0.as_bytes());
                    context::set(STEP, b"PREFILL_COMPLETE");
                    r
                }
                None => return Action::Reject(Rejection::json(503, r#"{"error":{"type":"prefill_unavailable"}}"#)),
            },
        };
        context::set(STEP, b"DECODE_FORWARDED");
        Action::mutate(
            Mutations::new()
                .upstream(self.decode.as_str())
                .set_header("x-kv-transfer-params", kv)
                .set_header("x-prefill-endpoint", ep),
        )
    }
}

export_filter!(PdDisagg);
