//! epd-disagg: encode -> prefill -> decode disaggregation for multimodal LLM serving, in the gateway.
//! For an OpenAI-style POST: a 1-token encode sub-request (only when the request carries
//! multimodal content), a 1-token prefill sub-request (carrying the encoder's `ec_transfer_params`),
//! then the request itself goes on as the decode, with the prefill's `kv_transfer_params`.
//! Each stage writes a checkpoint to the request's context store, which outlives attempts: a
//! retried attempt (the route's `retries`, or this filter re-run as an upstream filter on failover)
//! resumes after the last checkpoint, so nothing is encoded or prefilled twice.
#![no_std]
use praxis_filter::*;

mod stages;
use stages::{Pool, Stage};

/// The checkpoints, in the order a request passes them.
const CHECKPOINTS: [&str; 4] = ["ENCODE_COMPLETE", "PREFILL_COMPLETE", "TRANSFER_COMPLETE", "DECODE_FORWARDED"];
const ENCODED: usize = 1;
const PREFILLED: usize = 2;
const TRANSFERRED: usize = 3;

/// Context keys (the request's store, shared by every attempt and instance).
const STEP: &str = "epd-step";
const HISTORY: &str = "epd-checkpoints";
const EC: &str = "epd-ec";
const KV: &str = "epd-kv";
const ENCODE_EP: &str = "epd-encode-endpoint";
const PREFILL_EP: &str = "epd-prefill-endpoint";
/// Set by the headers hook: the body hook does not see the method, and may run on another instance.
const IS_POST: &str = "epd-post";

/// Content-part types that need the encoder (OpenAI chat parts, and the audio/video forms vLLM takes).
const MULTIMODAL: [&str; 5] = ["image_url", "input_image", "input_audio", "audio_url", "video_url"];

#[derive(Default)]
struct EpdDisagg {
    encode: Pool,
    prefill: Pool,
    decode: Option<String>,
}

/// How far this request got: 0 before any checkpoint, else the index of the last one plus one.
fn reached() -> usize {
    let step = context::get_str(STEP).unwrap_or_default();
    CHECKPOINTS.iter().position(|c| *c == step).map_or(0, |i| i + 1)
}

/// Records a checkpoint: the latest step, and the history (which a retry appends to).
fn checkpoint(index: usize) {
    let name = CHECKPOINTS[index - 1];
    let mut history = context::get_str(HISTORY).unwrap_or_default();
    if !history.is_empty() {
        history.push(',');
    }
    history.push_str(name);
    context::set(HISTORY, history.as_bytes());
    context::set(STEP, name.as_bytes());
}

/// True when a chat message has a content part the encoder must see (an image, audio, video).
fn is_multimodal(body: &[u8]) -> bool {
    let messages = json::raw(body).ok().and_then(|r| r.get("messages"));
    messages.into_iter().flat_map(|m| m.items()).any(|m| {
        m.get("content").into_iter().flat_map(|c| c.items()).any(|part| {
            part.get("type").and_then(|t| t.as_str()).map_or(false, |t| MULTIMODAL.contains(&t.as_str()))
        })
    })
}

fn unavailable(stage: &str) -> Action {
    let mut body = String::from(r#"{"error":{"type":""#);
    body.push_str(stage);
    body.push_str(r#"_unavailable"}}"#);
    Action::Reject(Rejection::json(503, &body))
}

impl EpdDisagg {
    /// Runs the stages not yet checkpointed; Err names the stage for which no endpoint answered.
    fn run_stages(&self, info: &RequestInfo, body: &[u8]) -> Result<(), &'static str> {
        let mut step = reached();
        if step < ENCODED && !self.encode.is_empty() && is_multimodal(body) {
            let (params, ep) = self.encode.call(info, Stage::Encode, body).ok_or("encode")?;
            context::set(EC, params.as_bytes());
            context::set(ENCODE_EP, ep.as_bytes());
            checkpoint(ENCODED);
            step = ENCODED;
        }
        if step < PREFILLED {
            // The encoder's params travel in the prefill body, so the prefill does not re-encode.
            let ec = context::get_str(EC).filter(|s| !s.is_empty());
            let prefill_body = match &ec {
                Some(ec) => json::set_member(body, "ec_transfer_params", ec).ok_or("prefill")?,
                None => body.to_vec(),
            };
            let (kv, ep) = self.prefill.call(info, Stage::Prefill, &prefill_body).ok_or("prefill")?;
            context::set(KV, kv.as_bytes());
            context::set(PREFILL_EP, ep.as_bytes());
            checkpoint(PREFILLED);
            step = PREFILLED;
        }
        if step < TRANSFERRED {
            // The KV-transfer params are in the request's store: any decode endpoint, on any
            // attempt, can pull the prefilled blocks with them from here on.
            checkpoint(TRANSFERRED);
        }
        Ok(())
    }

    /// The decode: this request, on to the decode upstream with the stored transfer params.
    fn forward(&self) -> Action {
        checkpoint(TRANSFERRED + 1);
        let mut m = Mutations::new()
            .set_header("x-kv-transfer-params", context::get_str(KV).unwrap_or_default())
            .set_header("x-prefill-endpoint", context::get_str(PREFILL_EP).unwrap_or_default())
            .set_header("x-epd-checkpoints", context::get_str(HISTORY).unwrap_or_default());
        if let Some(ep) = context::get_str(ENCODE_EP) {
            m = m.set_header("x-encode-endpoint", ep);
        }
        if let Some(decode) = &self.decode {
            m = m.upstream(decode.as_str());
        }
        Action::mutate(m)
    }
}

impl Filter for EpdDisagg {
    fn configure(&mut self, config: &str) -> Result<FilterInfo, String> {
        let cfg = json::raw(config.as_bytes()).map_err(|e| String::from("config is not JSON: ") + e.msg)?;
        let timeout = |key: &str| cfg.get(key).map_or(Some(2000), |v| v.as_u32()).ok_or(String::from(key) + " must be an integer");
        self.encode = Pool::from_config(cfg.get("encode"), timeout("encodeTimeoutMs")?).map_err(|e| String::from("encode ") + e)?;
        self.prefill = Pool::from_config(cfg.get("prefill"), timeout("prefillTimeoutMs")?).map_err(|e| String::from("prefill ") + e)?;
        if self.prefill.is_empty() {
            return Err("prefill must list at least one endpoint".into());
        }
        self.decode = match cfg.get("decodeUpstream") {
            None => None,
            Some(v) => Some(v.as_str().ok_or("decodeUpstream must be a string")?),
        };
        let max = cfg.get("maxBytes").map_or(Some(1 << 20), |v| v.as_u32()).ok_or("maxBytes must be an integer")?;
        Ok(FilterInfo::new("epd-disagg").request_body(BodyMode::StreamBuffer(max)).without_response_headers())
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
        let body = match collect_body(info, Direction::Request, "epd-disagg", chunk, end_of_stream) {
            Some(b) => b,
            None => return Action::Continue(None),
        };
        // Only OpenAI-style completion/chat requests take the detour.
        let is_llm = json::raw(&body).map_or(false, |r| r.get("prompt").is_some() || r.get("messages").is_some());
        if !is_llm {
            return Action::Continue(None);
        }
        match self.run_stages(info, &body) {
            Ok(()) => self.forward(),
            Err(stage) => unavailable(stage),
        }
    }
}

export_filter!(EpdDisagg);
