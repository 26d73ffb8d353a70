//! {{name}}: a praxis-wasm filter that asks a service before letting a request through. It sends
//! the request's `authorization` header to `authUrl`: 200 lets it pass (marked `x-auth-checked: 1`,
//! with the service's `x-auth-user` answer header copied), any other status is 403, no header is
//! 401, and a failed call (timeout, connect, denied, ...) is 503. Replace the logic with yours;
//! keep schema.json in step with `configure`.
#![no_std]
use praxis_filter::*;

struct {{className}} {
    auth_url: String,
    timeout_ms: u32,
}

impl Default for {{className}} {
    fn default() -> Self {
        {{className}} { auth_url: String::new(), timeout_ms: 500 }
    }
}

impl Filter for {{className}} {
    fn configure(&mut self, config: &str) -> Result<FilterInfo, String> {
        let cfg = json::raw(config.as_bytes()).map_err(|e| String::from("{{name}}: config is not JSON: ") + e.msg)?;
        if !cfg.is_object() {
            return Err("{{name}}: config is not a JSON object".into());
        }
        self.auth_url = cfg.get("authUrl").and_then(|v| v.as_str()).ok_or("{{name}}: `authUrl` is required")?;
        if let Some(v) = cfg.get("timeoutMs") {
            self.timeout_ms = v.as_u32().ok_or("{{name}}: timeoutMs must be a whole number of ms")?;
        }
        Ok(FilterInfo::new("{{name}}").without_response_headers())
    }

    fn on_request_headers(&mut self, _info: &RequestInfo, head: &RequestHead) -> Action {
        let token = match head.headers.get("authorization") {
            Some(t) => t,
            None => return Action::Reject(Rejection::new(401).body("missing authorization")),
        };
        // The guest is suspended here while the host makes the call; other requests keep flowing.
        let req = Subrequest::get(self.auth_url.as_str()).header("authorization", token).timeout_ms(self.timeout_ms);
        match http_subrequest(&req) {
            Err(e) => {
                log::warn(&(String::from("auth service failed: ") + &e.to_text()));
                Action::Reject(Rejection::new(503).body("auth unavailable"))
            }
            Ok(res) if res.status != 200 => Action::Reject(Rejection::new(403).body("forbidden")),
            Ok(res) => {
                let mut m = Mutations::new().set_header("x-auth-checked", "1");
                if let Some(user) = res.headers.get("x-auth-user") {
                    m = m.set_header("x-auth-user", user);
                }
                Action::mutate(m)
            }
        }
    }
}

export_filter!({{className}});

// Native unit tests: `cargo test`. Sub-requests are answered by `testing::mock*` rules.
#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{"authUrl":"http://auth.test/check","timeoutMs":200}"#;

    fn run(headers: &[(&str, &str)]) -> Action {
        let mut f = {{className}}::default();
        f.configure(CONFIG).expect("configure");
        let mut h = Headers::new();
        for (k, v) in headers {
            h.add(*k, *v);
        }
        let head = RequestHead { method: "GET".into(), path: "/".into(), authority: "localhost".into(), headers: h };
        f.on_request_headers(&testing::request_info(), &head)
    }

    #[test]
    fn a_token_the_service_accepts_passes_with_the_user_it_named() {
        testing::reset();
        let mut headers = Headers::new();
        headers.add("x-auth-user", "alice");
        testing::mock("http://auth.test/*", Ok(Subresponse { status: 200, headers, body: Vec::new() }));
        let action = run(&[("authorization", "Bearer good")]);
        assert_eq!(action, Action::mutate(Mutations::new().set_header("x-auth-checked", "1").set_header("x-auth-user", "alice")));
        let made = testing::subrequests();
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].url, "http://auth.test/check");
        assert_eq!(made[0].headers.get("authorization"), Some("Bearer good"));
        assert_eq!(made[0].timeout_ms, Some(200));
    }

    #[test]
    fn a_refused_token_is_403_and_no_token_is_401_without_a_call() {
        testing::reset();
        testing::mock_response("http://auth.test/*", 401, "");
        assert!(matches!(run(&[("authorization", "Bearer bad")]), Action::Reject(r) if r.status == 403));
        assert!(matches!(run(&[]), Action::Reject(r) if r.status == 401));
        assert_eq!(testing::subrequests().len(), 1);
    }

    #[test]
    fn a_failing_service_is_503() {
        testing::reset();
        testing::mock_error("http://auth.test/*", SubrequestError::Timeout);
        assert!(matches!(run(&[("authorization", "t")]), Action::Reject(r) if r.status == 503));
        assert!(testing::logs().iter().any(|(level, line)| *level == testing::LogLevel::Warn && line.contains("timeout")));
    }
}
