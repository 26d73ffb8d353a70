//! Collects both bodies under one tag and logs them; logs a sub-request error with Display.
#![no_std]
use praxis_filter::*;

#[derive(Default)]
struct Both;

fn log_body(what: &str, body: &[u8]) {
    let mut line = String::from(what);
    line.push_str(": ");
    line.push_str(core::str::from_utf8(body).unwrap_or("(not utf-8)"));
    log::info(&line);
}

impl Filter for Both {
    fn configure(&mut self, _config: &str) -> Result<FilterInfo, String> {
        Ok(FilterInfo::new("both")
            .header_hooks(HeaderHooks::NONE)
            .request_body(BodyMode::StreamBuffer(1 << 20))
            .response_body(BodyMode::StreamBuffer(1 << 20)))
    }
    fn on_request_body(&mut self, info: &RequestInfo, chunk: Vec<u8>, end_of_stream: bool) -> Action {
        match collect_body(info, Direction::Request, "both", chunk, end_of_stream) {
            None => Action::Continue(None),
            Some(body) => {
                log_body("request", &body);
                if let Err(e) = http_subrequest(&Subrequest::get("http://elsewhere.example/")) {
                    log::info(&format!("sub-request failed: {}", e));
                }
                Action::Release
            }
        }
    }
    fn on_response_body(&mut self, info: &RequestInfo, chunk: Vec<u8>, end_of_stream: bool) -> Action {
        match collect_body(info, Direction::Response, "both", chunk, end_of_stream) {
            None => Action::Continue(None),
            Some(body) => {
                log_body("response", &body);
                Action::Release
            }
        }
    }
}

export_filter!(Both);
