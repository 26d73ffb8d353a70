//! upstream-auth: one backend's credentials on the request that goes to it. Runs as an upstream
//! filter of that backend, so each attempt carries the credential of the backend it is sent to,
//! and only that one: the credential headers a client (or another backend's filter) may have put
//! on the request are removed first. The credential is never logged, and never shown by an error.
#![no_std]
use praxis_filter::*;

#[derive(Default)]
struct UpstreamAuth {
    /// Header and full value (scheme included) to set.
    header: String,
    value: String,
    /// Removed before the credential is set (lower-case).
    remove: Vec<String>,
    /// Extra fixed headers of this backend (`anthropic-version`).
    extra: Vec<(String, String)>,
}

const DEFAULT_REMOVE: [&str; 3] = ["authorization", "x-api-key", "api-key"];

fn str_at(cfg: &json::Raw, key: &str) -> Result<Option<String>, String> {
    match cfg.get(key) {
        None => Ok(None),
        Some(v) => v.as_str().map(Some).ok_or_else(|| String::from(key) + " must be a string"),
    }
}

impl Filter for UpstreamAuth {
    fn configure(&mut self, config: &str) -> Result<FilterInfo, String> {
        let cfg = json::raw(config.as_bytes()).map_err(|e| String::from("config is not JSON: ") + e.msg)?;
        self.header = str_at(&cfg, "header")?.unwrap_or_else(|| "authorization".into()).to_ascii_lowercase();
        // Bearer by default for `authorization`; a bare value for any other header (x-api-key).
        let default_scheme = if self.header == "authorization" { "Bearer" } else { "" };
        let scheme = str_at(&cfg, "scheme")?.unwrap_or_else(|| default_scheme.into());
        let credential = str_at(&cfg, "credential")?.ok_or("credential is required (a value, or \"${ENV_VAR}\" resolved by the host)")?;
        if credential.is_empty() {
            return Err("credential is empty".into());
        }
        self.value = if scheme.is_empty() { credential } else { scheme + " " + &credential };
        self.remove = match cfg.get("removeHeaders") {
            None => DEFAULT_REMOVE.iter().map(|h| String::from(*h)).collect(),
            Some(list) => {
                let mut out = Vec::new();
                for h in list.items() {
                    out.push(h.as_str().ok_or("removeHeaders must be a list of header names")?.to_ascii_lowercase());
                }
                out
            }
        };
        if let Some(set) = cfg.get("setHeaders") {
            for (k, v) in set.members() {
                let v = v.as_str().ok_or("setHeaders values must be strings")?;
                self.extra.push((k.to_ascii_lowercase(), v));
            }
        }
        Ok(FilterInfo::new("upstream-auth").without_response_headers())
    }

    fn on_request_headers(&mut self, _info: &RequestInfo, _head: &RequestHead) -> Action {
        let mut m = Mutations::new();
        for h in &self.remove {
            if *h != self.header {
                m = m.remove_header(h.as_str());
            }
        }
        for (k, v) in &self.extra {
            m = m.set_header(k.as_str(), v.as_str());
        }
        // Set replaces every earlier value of the header, so no other credential survives in it.
        Action::mutate(m.set_header(self.header.as_str(), self.value.as_str()))
    }
}

export_filter!(UpstreamAuth);
