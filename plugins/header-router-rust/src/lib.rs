//! header-router (Rust): picks the upstream from a header, or from a JSON body field when the
//! header is absent. Same behaviour as the AssemblyScript header-router.
//! Config: { "header": "x-model", "routes": { "gpt-4": "upstream-a" }, "default": "upstream-b",
//!           "bodyField": "model", "maxBytes": 1048576 }
#![no_std]
use praxis_filter::*;

/// Set by the headers hook when the header decided, so the body hook (which may run on another
/// instance: instances are not pinned to a request) knows not to decide again.
const DECIDED: &str = "header-router.decided";
const ROUTE_HEADER: &str = "x-praxis-route-model";

#[derive(Default)]
struct Router {
    header: String,
    routes: Vec<(String, String)>,
    default: Option<String>,
    body_field: Option<String>,
}

impl Router {
    /// Routes `key` (None: no key found) to its upstream, else to the default, else unchanged.
    fn route(&self, key: Option<&str>) -> Action {
        let known = key.and_then(|k| self.routes.iter().find(|(r, _)| r == k)).map(|(_, u)| u);
        let mut m = Mutations::new();
        if let Some(k) = key.filter(|k| is_header_text(k)) {
            m = m.set_header(ROUTE_HEADER, k);
        }
        match known.or(self.default.as_ref()) {
            Some(up) => Action::mutate(m.upstream(up.as_str())),
            None => Action::Continue(None),
        }
    }
}

/// True when `s` can travel as an HTTP header value (tab, visible ASCII, space, obs-text U+0080-U+00FF).
fn is_header_text(s: &str) -> bool {
    s.chars().all(|c| c == '\t' || (' '..='~').contains(&c) || ('\u{80}'..='\u{ff}').contains(&c))
}

fn opt_string(v: Option<json::Raw>, what: &str) -> Result<Option<String>, String> {
    match v {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => v.as_str().map(Some).ok_or_else(|| String::from(what) + " must be a string"),
    }
}

impl Filter for Router {
    fn configure(&mut self, config: &str) -> Result<FilterInfo, String> {
        let cfg = json::raw(config.as_bytes()).map_err(|e| String::from("config is not JSON: ") + e.msg)?;
        self.header = opt_string(cfg.get("header"), "header")?.unwrap_or_else(|| "x-model".into()).to_ascii_lowercase();
        let routes = cfg.get("routes").filter(|r| r.is_object()).ok_or("routes must be an object of model -> upstream")?;
        for (k, v) in routes.members() {
            self.routes.push((k, v.as_str().ok_or("each route must name an upstream (a string)")?));
        }
        self.default = opt_string(cfg.get("default"), "default")?;
        self.body_field = opt_string(cfg.get("bodyField"), "bodyField")?;
        let max = match cfg.get("maxBytes") {
            None => 1 << 20,
            Some(v) => v.as_u32().ok_or("maxBytes must be a non-negative integer")?,
        };
        let mut info = FilterInfo::new("header-router").without_response_headers();
        if self.body_field.is_some() {
            info = info.request_body(BodyMode::StreamBuffer(max));
        }
        Ok(info)
    }

    fn on_request_headers(&mut self, _info: &RequestInfo, head: &RequestHead) -> Action {
        match head.headers.get(&self.header) {
            Some(key) => {
                if self.body_field.is_some() {
                    context::set(DECIDED, b"1");
                }
                self.route(Some(key))
            }
            None if self.body_field.is_some() => Action::Continue(None), // decide at end of body
            None => self.route(None),
        }
    }

    fn on_request_body(&mut self, info: &RequestInfo, chunk: Vec<u8>, end_of_stream: bool) -> Action {
        let field = match &self.body_field {
            Some(f) => f,
            None => return Action::BodyDone,
        };
        if context::get(DECIDED).is_some() {
            return Action::BodyDone;
        }
        let body = match collect_body(info, Direction::Request, "header-router", chunk, end_of_stream) {
            Some(b) => b,
            None => return Action::Continue(None), // keep buffering
        };
        let key = json::raw(&body).ok().and_then(|v| v.get(field)).and_then(|v| v.as_str());
        self.route(key.as_deref())
    }
}

export_filter!(Router);
