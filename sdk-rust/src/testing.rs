//! Native unit tests of a filter (`cargo test`; not compiled for wasm). Register answers for
//! sub-requests by URL pattern, call the filter's hooks directly, then look at the sub-requests
//! it made and the lines it logged. State is per test thread (cargo runs each test on its own
//! thread), so tests do not see each other's mocks.
//!
//! ```ignore
//! use praxis_filter::testing;
//! testing::mock_response("http://auth.test/*", 200, "alice");
//! let action = filter.on_request_headers(&testing::request_info(), &head);
//! assert_eq!(testing::subrequests()[0].url, "http://auth.test/check");
//! ```
//!
//! The key-value store has its own stand-in: see [`kv`]; the clocks too: see [`clock`].
//!
//! A sub-request no rule matches fails with `SubrequestError::Denied`, as a host outside the
//! plugin's `allowedHosts` would.
use crate::types::*;
use crate::{String, ToString, Vec};
use std::cell::RefCell;

pub mod clock;
pub mod kv;

struct Rule {
    pattern: String,
    method: Option<String>,
    answer: Result<Subresponse, SubrequestError>,
    remaining: Option<u32>,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    made: Vec<Subrequest>,
    logs: Vec<(LogLevel, String)>,
}

std::thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// A log line's level, as the filter logged it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// `*` matches any run of characters; everything else literally; the whole URL must match.
fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// Answers every sub-request whose URL matches `pattern` (`*`: any characters) with `answer`.
/// Rules are tried in the order they were added; the first that matches answers.
pub fn mock(pattern: &str, answer: Result<Subresponse, SubrequestError>) {
    STATE.with(|s| s.borrow_mut().rules.push(Rule { pattern: pattern.to_string(), method: None, answer, remaining: None }));
}

/// Like [`mock`], for one method only, and at most `times` calls (None: every call).
pub fn mock_for(method: &str, pattern: &str, answer: Result<Subresponse, SubrequestError>, times: Option<u32>) {
    STATE.with(|s| {
        s.borrow_mut().rules.push(Rule { pattern: pattern.to_string(), method: Some(method.to_ascii_uppercase()), answer, remaining: times })
    });
}

/// A response with this status and body (no headers).
pub fn mock_response(pattern: &str, status: u16, body: &str) {
    mock(pattern, Ok(Subresponse { status, headers: Headers::new(), body: body.as_bytes().to_vec() }));
}

/// A failure of this kind (`SubrequestError::Timeout`, `Connect("refused".into())`, ...).
pub fn mock_error(pattern: &str, error: SubrequestError) {
    mock(pattern, Err(error));
}

/// The sub-requests the filter made since the last [`reset`], in order.
pub fn subrequests() -> Vec<Subrequest> {
    STATE.with(|s| s.borrow().made.clone())
}

/// The lines the filter logged since the last [`reset`].
pub fn logs() -> Vec<(LogLevel, String)> {
    STATE.with(|s| s.borrow().logs.clone())
}

/// Forgets the mocks, the recorded sub-requests and log lines (the context and key-value stores, and a set clock, too).
pub fn reset() {
    STATE.with(|s| *s.borrow_mut() = State::default());
    crate::host::context::clear();
    kv::clear();
    clock::clear();
}

/// A `RequestInfo` as the gateway would pass it to a first attempt.
pub fn request_info() -> RequestInfo {
    RequestInfo { request_id: "test-1".to_string(), attempt: 1, route: "test".to_string() }
}

/// The host side of `http_subrequest` in native builds.
pub(crate) fn answer(req: &Subrequest) -> Result<Subresponse, SubrequestError> {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.made.push(req.clone());
        let method = req.method.to_ascii_uppercase();
        let hit = s.rules.iter_mut().find(|r| {
            r.remaining != Some(0) && r.method.as_deref().map_or(true, |m| m == method) && glob_match(&r.pattern, &req.url)
        });
        match hit {
            Some(rule) => {
                if let Some(n) = rule.remaining.as_mut() {
                    *n -= 1;
                }
                rule.answer.clone()
            }
            None => Err(SubrequestError::Denied(String::from("no mock matches ") + &req.url)),
        }
    })
}

/// The host side of `log` in native builds: kept for [`logs`], and echoed to stderr.
pub(crate) fn record_log(level: u32, msg: &str) {
    let level = [LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error][level.min(3) as usize];
    STATE.with(|s| s.borrow_mut().logs.push((level, msg.to_string())));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_urls() {
        assert!(glob_match("http://a.test/*", "http://a.test/x?y"));
        assert!(glob_match("http://*.test/x", "http://b.test/x"));
        assert!(glob_match("http://a.test/x", "http://a.test/x"));
        assert!(!glob_match("http://a.test/x", "http://a.test/xy"));
        assert!(!glob_match("http://a.test/*/z", "http://a.test/z"));
    }

    #[test]
    fn first_matching_rule_answers_and_calls_are_recorded() {
        reset();
        mock_for("POST", "http://svc.test/*", Err(SubrequestError::Timeout), Some(1));
        mock_response("http://svc.test/*", 201, "ok");
        let post = Subrequest::post("http://svc.test/a", "x");
        assert_eq!(crate::http_subrequest(&post), Err(SubrequestError::Timeout));
        assert_eq!(crate::http_subrequest(&post).map(|r| r.status), Ok(201));
        assert!(matches!(crate::http_subrequest(&Subrequest::get("http://other.test/")), Err(SubrequestError::Denied(_))));
        assert_eq!(subrequests().len(), 3);
        crate::log::warn("w");
        assert_eq!(logs(), [(LogLevel::Warn, String::from("w"))]);
        reset();
        assert!(subrequests().is_empty());
    }
}
