//! {{name}}: a praxis-wasm filter. Requests that carry the configured header are rejected with
//! 403; the others go on with an `x-filtered-by` header, so its tests show both a rejection and
//! a mutation. Replace the logic with yours; keep schema.json in step with `configure`.
#![no_std]
use praxis_filter::*;

struct {{className}} {
    block_header: String,
    stamp: String,
}

impl Default for {{className}} {
    fn default() -> Self {
        {{className}} { block_header: "x-block".into(), stamp: "{{name}}".into() }
    }
}

impl Filter for {{className}} {
    fn configure(&mut self, config: &str) -> Result<FilterInfo, String> {
        let cfg = json::raw(config.as_bytes()).map_err(|e| String::from("{{name}}: config is not JSON: ") + e.msg)?;
        if !cfg.is_object() {
            return Err("{{name}}: config is not a JSON object".into());
        }
        if let Some(v) = cfg.get("blockHeader") {
            self.block_header = v.as_str().ok_or("{{name}}: blockHeader must be a string")?.to_ascii_lowercase();
        }
        if let Some(v) = cfg.get("stamp") {
            self.stamp = v.as_str().ok_or("{{name}}: stamp must be a string")?;
        }
        // No body hooks, no response-headers hook: the host then never calls them.
        Ok(FilterInfo::new("{{name}}").without_response_headers())
    }

    fn on_request_headers(&mut self, _info: &RequestInfo, head: &RequestHead) -> Action {
        if head.headers.contains(&self.block_header) {
            log::info(&(String::from("blocked ") + &head.method + " " + &head.path + ": " + &self.block_header));
            return Action::Reject(Rejection::new(403).body("blocked by {{name}}"));
        }
        Action::mutate(Mutations::new().set_header("x-filtered-by", self.stamp.as_str()))
    }
}

export_filter!({{className}});

// Native unit tests: `cargo test`. `npm test`-style checks of the built .wasm: `praxis-wasm try`.
#[cfg(test)]
mod tests {
    use super::*;

    fn head(headers: &[(&str, &str)]) -> RequestHead {
        let mut h = Headers::new();
        for (k, v) in headers {
            h.add(*k, *v);
        }
        RequestHead { method: "GET".into(), path: "/hello".into(), authority: "localhost".into(), headers: h }
    }

    fn configured(config: &str) -> {{className}} {
        let mut f = {{className}}::default();
        f.configure(config).expect("configure");
        f
    }

    #[test]
    fn stamps_a_request_that_may_pass() {
        testing::reset();
        let action = configured(r#"{"stamp":"checked"}"#).on_request_headers(&testing::request_info(), &head(&[]));
        assert_eq!(action, Action::mutate(Mutations::new().set_header("x-filtered-by", "checked")));
    }

    #[test]
    fn rejects_a_request_with_the_block_header() {
        testing::reset();
        let action = configured("{}").on_request_headers(&testing::request_info(), &head(&[("x-block", "1")]));
        assert_eq!(action, Action::Reject(Rejection::new(403).body("blocked by {{name}}")));
        assert!(testing::logs().iter().any(|(_, line)| line.starts_with("blocked GET /hello")));
    }
}
