//! One stage's endpoint pool (encode or prefill): a 1-token sub-request, re-picking the next
//! endpoint when one is slow (its stage timeout) or fails, until one answers or all were tried.
//! The host clamps every timeout below the request's deadline, so the re-picks stay within it.
use praxis_filter::*;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Encode,
    Prefill,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Encode => "encode",
            Stage::Prefill => "prefill",
        }
    }
    /// The member of the stage's answer the next stage needs.
    fn params(self) -> &'static str {
        match self {
            Stage::Encode => "ec_transfer_params",
            Stage::Prefill => "kv_transfer_params",
        }
    }
}

#[derive(Default)]
pub struct Pool {
    endpoints: Vec<String>,
    timeout_ms: u32,
}

/// FNV-1a: a stable spread of request ids over a pool's endpoints.
fn hash(s: &str) -> u32 {
    s.bytes().fold(0x811c9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x01000193))
}

impl Pool {
    pub fn from_config(list: Option<json::Raw>, timeout_ms: u32) -> Result<Pool, &'static str> {
        let mut endpoints = Vec::new();
        for ep in list.map(|v| v.items()).into_iter().flatten() {
            let ep = ep.as_str().ok_or("must be a list of URLs")?;
            endpoints.push(String::from(ep.trim_end_matches('/')));
        }
        Ok(Pool { endpoints, timeout_ms })
    }

    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// Tries each endpoint once, from a per-request starting point. On a 2xx JSON answer: the
    /// stage's params (minified; "" when an encoder returned none) and the endpoint that answered.
    pub fn call(&self, info: &RequestInfo, stage: Stage, body: &[u8]) -> Option<(String, String)> {
        let one_token = json::set_member(body, "max_tokens", "1")?;
        let chat = json::raw(body).map_or(false, |r| r.get("messages").is_some());
        let path = if chat { "/v1/chat/completions" } else { "/v1/completions" };
        let n = self.endpoints.len();
        let start = hash(&info.request_id) as usize % n.max(1);
        for i in 0..n {
            let ep = &self.endpoints[(start + i) % n];
            let req = Subrequest::post(ep.clone() + path, one_token.clone())
                .header("content-type", "application/json")
                .header("x-epd-stage", stage.name())
                .header("x-epd-request-id", info.request_id.as_str())
                .timeout_ms(self.timeout_ms);
            let resp = match http_subrequest(&req) {
                Ok(r) if (200..300).contains(&r.status) => r,
                Err(SubrequestError::Cancelled) => return None, // the client is gone
                Ok(_) | Err(_) => {
                    // a non-2xx, timeout, connect error or overload: the next endpoint may do better
                    log::warn(&(String::from("epd-disagg: ") + stage.name() + " endpoint " + ep + " failed; re-picking"));
                    continue;
                }
            };
            let answer = match json::raw(&resp.body) {
                Ok(a) => a,
                Err(_) => continue,
            };
            match answer.get(stage.params()).filter(|v| v.is_object()) {
                Some(p) => return Some((String::from_utf8(json::minify(p.0)).unwrap_or_default(), ep.clone())),
                // An encoder may hand its output over out of band: nothing to pass on.
                None if stage == Stage::Encode => return Some((String::new(), ep.clone())),
                None => continue,
            }
        }
        None
    }
}
