//! The praxis:filter types, in Rust shape. Field names follow the WIT.
#[allow(unused_imports)]
use crate::{format, vec, Box, String, ToOwned, ToString, Vec};

/// Header name/value pairs in order. Names from the host are lower-case; lookups ignore case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    pub fn new() -> Self {
        Headers(Vec::new())
    }
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// Replaces every value of `name` with one.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.remove(&name);
        self.0.push((name, value.into()));
    }
    /// Appends a value, keeping existing ones.
    pub fn add(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }
    /// Removes every value of `name`; true if there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.0.len() != before
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<(String, String)>> for Headers {
    fn from(v: Vec<(String, String)>) -> Self {
        Headers(v)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    pub path: String,
    pub authority: String,
    pub headers: Headers,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub headers: Headers,
}

/// Identity of the request a hook runs for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestInfo {
    pub request_id: String,
    /// 1 on the first attempt; rises on each retry of the same client request.
    pub attempt: u32,
    pub route: String,
}

/// A short-circuit answer: later filters and the upstream are skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub headers: Headers,
    pub body: Option<Vec<u8>>,
}

impl Rejection {
    pub fn new(status: u16) -> Self {
        Rejection { status, headers: Headers::new(), body: None }
    }
    /// A JSON answer: sets content-type and the body.
    pub fn json(status: u16, body: &str) -> Self {
        let mut r = Rejection::new(status);
        r.headers.add("content-type", "application/json");
        r.body = Some(body.as_bytes().to_vec());
        r
    }
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.add(name, value);
        self
    }
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }
}

/// Changes to the request (request hooks) or response (response hooks).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mutations {
    pub set_headers: Headers,
    pub remove_headers: Vec<String>,
    /// Replaces the body.
    pub body: Option<Vec<u8>>,
    /// Name of the upstream to send the request to (request hooks only).
    pub upstream: Option<String>,
}

impl Mutations {
    pub fn new() -> Self {
        Mutations::default()
    }
    pub fn set_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set_headers.set(name, value);
        self
    }
    pub fn remove_header(mut self, name: impl Into<String>) -> Self {
        self.remove_headers.push(name.into());
        self
    }
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }
    pub fn upstream(mut self, name: impl Into<String>) -> Self {
        self.upstream = Some(name.into());
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Continue(Option<Mutations>),
    Reject(Rejection),
    /// Forward the body accumulated so far (stream-buffer mode).
    Release,
    /// This filter needs no more body chunks.
    BodyDone,
}

impl Action {
    /// Continue with these mutations.
    pub fn mutate(m: Mutations) -> Self {
        Action::Continue(Some(m))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyMode {
    None,
    Stream,
    /// Accumulate up to this many bytes before forwarding; 413 past it.
    StreamBuffer(u32),
}

/// Which header hooks a filter implements (WIT `flags header-hooks`). The host never calls an
/// undeclared one: without `request_headers` the filter still counts as passed (its response
/// hooks run); without `response_headers` it is skipped on the response path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderHooks {
    pub request_headers: bool,
    pub response_headers: bool,
}

impl HeaderHooks {
    pub const BOTH: HeaderHooks = HeaderHooks { request_headers: true, response_headers: true };
    pub const NONE: HeaderHooks = HeaderHooks { request_headers: false, response_headers: false };
    /// The flags byte: bit 0 request-headers, bit 1 response-headers.
    pub fn bits(self) -> u32 {
        (self.request_headers as u32) | ((self.response_headers as u32) << 1)
    }
}

impl Default for HeaderHooks {
    fn default() -> Self {
        HeaderHooks::BOTH
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterInfo {
    pub name: String,
    pub request_body: BodyMode,
    pub response_body: BodyMode,
    /// Both on by default; see [`FilterInfo::without_request_headers`].
    pub header_hooks: HeaderHooks,
}

impl FilterInfo {
    /// A filter that sees no bodies and both header hooks.
    pub fn new(name: impl Into<String>) -> Self {
        FilterInfo { name: name.into(), request_body: BodyMode::None, response_body: BodyMode::None, header_hooks: HeaderHooks::BOTH }
    }
    /// The host never calls `on_request_headers` (the filter still counts as passed).
    pub fn without_request_headers(mut self) -> Self {
        self.header_hooks.request_headers = false;
        self
    }
    /// The host never calls `on_response_headers`.
    pub fn without_response_headers(mut self) -> Self {
        self.header_hooks.response_headers = false;
        self
    }
    pub fn header_hooks(mut self, hooks: HeaderHooks) -> Self {
        self.header_hooks = hooks;
        self
    }
    pub fn request_body(mut self, mode: BodyMode) -> Self {
        self.request_body = mode;
        self
    }
    pub fn response_body(mut self, mode: BodyMode) -> Self {
        self.response_body = mode;
        self
    }
}

/// An outbound HTTP request, bounded by the host (timeouts are clamped to the request's deadline).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subrequest {
    pub method: String,
    pub url: String,
    pub headers: Headers,
    pub body: Option<Vec<u8>>,
    pub timeout_ms: Option<u32>,
}

impl Subrequest {
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Subrequest { method: method.into(), url: url.into(), ..Subrequest::default() }
    }
    pub fn get(url: impl Into<String>) -> Self {
        Subrequest::new("GET", url)
    }
    pub fn post(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Subrequest::new("POST", url).body(body)
    }
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.add(name, value);
        self
    }
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.timeout_ms = Some(ms);
        self
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subresponse {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubrequestError {
    Timeout,
    TooLarge,
    Denied(String),
    Overloaded,
    Cancelled,
    Connect(String),
    Protocol(String),
}

impl SubrequestError {
    /// The error's kind as the WIT names it (`timeout`, `too-large`, `denied`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            SubrequestError::Timeout => "timeout",
            SubrequestError::TooLarge => "too-large",
            SubrequestError::Denied(_) => "denied",
            SubrequestError::Overloaded => "overloaded",
            SubrequestError::Cancelled => "cancelled",
            SubrequestError::Connect(_) => "connect",
            SubrequestError::Protocol(_) => "protocol",
        }
    }
    /// The host's reason, for the kinds that carry one (denied, connect, protocol).
    pub fn reason(&self) -> Option<&str> {
        match self {
            SubrequestError::Denied(r) | SubrequestError::Connect(r) | SubrequestError::Protocol(r) => Some(r),
            _ => None,
        }
    }
    /// "kind" or "kind: reason", without core::fmt (the cheap way to log an error in a hook).
    pub fn to_text(&self) -> String {
        let mut s = String::from(self.kind());
        if let Some(r) = self.reason() {
            s.push_str(": ");
            s.push_str(r);
        }
        s
    }
}

/// "kind" or "kind: reason", as [`SubrequestError::to_text`]. Formatting links core::fmt
/// (~5-14 KB of wasm): fine in tests and rare paths; `to_text` is the small choice in a hook.
impl core::fmt::Display for SubrequestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.kind())?;
        match self.reason() {
            Some(r) => write!(f, ": {}", r),
            None => Ok(()),
        }
    }
}

/// Which body a hook is collecting; [`crate::collect_body`] keeps the two apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Request => "request",
            Direction::Response => "response",
        }
    }
}
