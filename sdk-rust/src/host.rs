//! The world's imports (http-client, context, log) and the panic hook. Native builds get stand-ins
//! (an in-memory context, stderr logging, sub-requests that fail) so plugin crates can unit-test.
#[allow(unused_imports)]
use crate::{format, vec, Box, String, ToOwned, ToString, Vec};

use crate::types::*;

#[cfg(target_arch = "wasm32")]
mod imp {
    #[link(wasm_import_module = "praxis:filter/http-client@0.2.0")]
    extern "C" {
        #[link_name = "http-subrequest"]
        pub fn http_subrequest(
            a0: u32, a1: u32, a2: u32, a3: u32, a4: u32, a5: u32,
            a6: u32, a7: u32, a8: u32, a9: u32, a10: u32, ret: u32,
        );
        #[link_name = "http-subrequest-all"]
        pub fn http_subrequest_all(ptr: u32, n: u32, ret: u32);
    }
    #[link(wasm_import_module = "praxis:filter/context@0.2.0")]
    extern "C" {
        #[link_name = "get"]
        pub fn context_get(k: u32, kl: u32, ret: u32);
        #[link_name = "set"]
        pub fn context_set(k: u32, kl: u32, v: u32, vl: u32);
    }
    #[link(wasm_import_module = "praxis:filter/log@0.2.0")]
    extern "C" {
        #[link_name = "log"]
        pub fn log(level: u32, p: u32, n: u32);
    }
}

/// One outbound HTTP request. The host bounds it (timeout clamped to the request's deadline,
/// body ceilings, concurrency) and answers with an error variant rather than trapping.
#[cfg(target_arch = "wasm32")]
pub fn http_subrequest(req: &Subrequest) -> Result<Subresponse, SubrequestError> {
    use crate::abi::{lift_sub_result, lower_subrequest, WasmMem};
    let mut m = WasmMem::new();
    let mut a = Vec::with_capacity(11);
    lower_subrequest(&mut m, req, &mut a);
    let mut ret = [0u32; 6];
    let r = ret.as_mut_ptr() as u32;
    unsafe { imp::http_subrequest(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], r) };
    lift_sub_result(&mut m, r)
}

/// Runs the requests concurrently under the same bounds; results come back in order.
#[cfg(target_arch = "wasm32")]
pub fn http_subrequest_all(reqs: &[Subrequest]) -> Vec<Result<Subresponse, SubrequestError>> {
    use crate::abi::{lift_sub_results, lower_subrequest, Mem, WasmMem};
    let mut m = WasmMem::new();
    let mut list = Vec::with_capacity(reqs.len() * 11);
    for r in reqs {
        lower_subrequest(&mut m, r, &mut list);
    }
    let mut ret = [0u32; 2];
    let r = ret.as_mut_ptr() as u32;
    unsafe { imp::http_subrequest_all(list.as_ptr() as u32, reqs.len() as u32, r) };
    let (p, n) = (m.load(r, 4), m.load(r + 4, 4));
    lift_sub_results(&mut m, p, n)
}

/// Native stand-in: answered by the mocks of [`crate::testing`] (no mock: `Denied`).
#[cfg(not(target_arch = "wasm32"))]
pub fn http_subrequest(req: &Subrequest) -> Result<Subresponse, SubrequestError> {
    crate::testing::answer(req)
}

#[cfg(not(target_arch = "wasm32"))]
pub fn http_subrequest_all(reqs: &[Subrequest]) -> Vec<Result<Subresponse, SubrequestError>> {
    reqs.iter().map(http_subrequest).collect()
}

/// A store scoped to one client request, kept across its retry attempts and shared by every
/// instance that runs a hook for it. Use it for state across hooks and for retry checkpoints.
pub mod context {
    #[allow(unused_imports)]
    use crate::{String, ToString, Vec};
    #[cfg(target_arch = "wasm32")]
    pub fn get(key: &str) -> Option<Vec<u8>> {
        use crate::abi::{lift_opt_bytes, WasmMem};
        let mut ret = [0u32; 3];
        let r = ret.as_mut_ptr() as u32;
        unsafe { super::imp::context_get(key.as_ptr() as u32, key.len() as u32, r) };
        lift_opt_bytes(&mut WasmMem::new(), r)
    }
    #[cfg(target_arch = "wasm32")]
    pub fn set(key: &str, value: &[u8]) {
        unsafe { super::imp::context_set(key.as_ptr() as u32, key.len() as u32, value.as_ptr() as u32, value.len() as u32) }
    }

    #[cfg(not(target_arch = "wasm32"))]
    std::thread_local! {
        static STORE: std::cell::RefCell<Vec<(String, Vec<u8>)>> = std::cell::RefCell::new(Vec::new());
    }
    /// Native stand-in: a thread-local map, so plugin unit tests can exercise checkpoints.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn get(key: &str) -> Option<Vec<u8>> {
        STORE.with(|s| s.borrow().iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    }
    /// Native stand-in: empties the store (`testing::reset` calls it between tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn clear() {
        STORE.with(|s| s.borrow_mut().clear())
    }
    #[cfg(not(target_arch = "wasm32"))]
    pub fn set(key: &str, value: &[u8]) {
        STORE.with(|s| {
            let mut s = s.borrow_mut();
            s.retain(|(k, _)| k != key);
            s.push((key.to_string(), value.to_vec()));
        })
    }

    /// The value as UTF-8 text (None if absent or not UTF-8).
    pub fn get_str(key: &str) -> Option<String> {
        get(key).and_then(|v| String::from_utf8(v).ok())
    }
}

pub mod log {
    #[cfg(target_arch = "wasm32")]
    fn emit(level: u32, msg: &str) {
        unsafe { super::imp::log(level, msg.as_ptr() as u32, msg.len() as u32) }
    }
    #[cfg(not(target_arch = "wasm32"))]
    fn emit(level: u32, msg: &str) {
        crate::testing::record_log(level, msg);
        std::eprintln!("[{}] {}", ["debug", "info", "warn", "error"][level as usize], msg);
    }
    pub fn debug(msg: &str) {
        emit(0, msg)
    }
    pub fn info(msg: &str) {
        emit(1, msg)
    }
    pub fn warn(msg: &str) {
        emit(2, msg)
    }
    pub fn error(msg: &str) {
        emit(3, msg)
    }
}

/// Logs a panic through the `log` import (at error); panic=abort then traps, and the host
/// destroys the instance. Without std: "panic at <file>:<line>", no core::fmt (~5 KB of wasm);
/// the `panic-message` feature adds the message ("panic: <message> at <file>:<line>").
#[cfg(all(target_arch = "wasm32", not(praxis_std)))]
#[panic_handler]
fn panic(p: &core::panic::PanicInfo) -> ! {
    let mut line = String::from("panic");
    #[cfg(feature = "panic-message")]
    {
        line.push_str(": ");
        panic_message(p, &mut line);
    }
    if let Some(l) = p.location() {
        push_location(&mut line, l);
    }
    log::error(&line);
    core::arch::wasm32::unreachable()
}

/// " at <file>:<line>", without core::fmt.
#[cfg(target_arch = "wasm32")]
fn push_location(line: &mut String, l: &core::panic::Location) {
    line.push_str(" at ");
    line.push_str(l.file());
    line.push(':');
    push_u32(line, l.line());
}

/// The message alone, from PanicInfo's Display (PanicInfo::message is not stable on 1.63):
/// "panicked at 'msg', file:l:c" (older rustc) or "panicked at file:l:c:\nmsg" (newer).
#[cfg(all(target_arch = "wasm32", not(praxis_std), feature = "panic-message"))]
fn panic_message(p: &core::panic::PanicInfo, out: &mut String) {
    use core::fmt::Write;
    let mut s = String::new();
    let _ = write!(s, "{}", p);
    let rest = s.strip_prefix("panicked at ").unwrap_or(&s);
    let msg = if let Some(q) = rest.strip_prefix('\'') {
        q.rfind("', ").map_or(q, |i| &q[..i])
    } else {
        rest.find(":\n").map_or(rest, |i| &rest[i + 2..])
    };
    out.push_str(msg);
}

/// Out of memory traps (rustc < 1.68 without std needs this handler named).
#[cfg(praxis_oom_handler)]
#[alloc_error_handler]
fn oom(_: core::alloc::Layout) -> ! {
    core::arch::wasm32::unreachable()
}

/// With std (old rustc without RUSTC_BOOTSTRAP): std's panic hook, same line with the message.
#[cfg(all(target_arch = "wasm32", praxis_std))]
pub(crate) fn install_panic_hook() {
    std::panic::set_hook(Box::new(|p| {
        let msg = if let Some(s) = p.payload().downcast_ref::<&str>() {
            s.to_string()
        } else if let Some(s) = p.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "panic".to_string()
        };
        let mut line = String::from("panic: ");
        line.push_str(&msg);
        if let Some(l) = p.location() {
            push_location(&mut line, l);
        }
        log::error(&line);
    }));
}
#[cfg(all(target_arch = "wasm32", not(praxis_std)))]
pub(crate) fn install_panic_hook() {}

/// Collects a body that arrives in chunks, across instances: chunks before the last are parked
/// in `context` (instances are not pinned to a request), the last call returns the whole body.
/// A body that arrives in one call never touches the context. Keys are
/// `<tag>.<direction>.body.<attempt>.<i>`: the request's and the response's chunks never mix,
/// and a retry (which re-sends the body) starts afresh.
pub fn collect_body(info: &RequestInfo, direction: Direction, tag: &str, chunk: Vec<u8>, end_of_stream: bool) -> Option<Vec<u8>> {
    let mut base = String::from(tag);
    base.push('.');
    base.push_str(direction.as_str());
    base.push_str(".body.");
    push_u32(&mut base, info.attempt);
    base.push('.');
    let key = |i: u32| {
        let mut k = base.clone();
        push_u32(&mut k, i);
        k
    };
    let count_key = base.clone() + "n";
    let n: u32 = context::get_str(&count_key).and_then(|s| s.parse().ok()).unwrap_or(0);
    if end_of_stream && n == 0 {
        return Some(chunk);
    }
    if !end_of_stream {
        context::set(&key(n), &chunk);
        let mut next = String::new();
        push_u32(&mut next, n + 1);
        context::set(&count_key, next.as_bytes());
        return None;
    }
    let mut body = Vec::new();
    for i in 0..n {
        body.extend_from_slice(&context::get(&key(i)).unwrap_or_default());
        context::set(&key(i), b""); // released: the store counts what a request holds
    }
    context::set(&count_key, b"0");
    body.extend_from_slice(&chunk);
    Some(body)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn collect_body_keeps_request_and_response_apart() {
        let info = RequestInfo { request_id: "r".into(), attempt: 1, route: "x".into() };
        assert_eq!(collect_body(&info, Direction::Request, "t", b"re".to_vec(), false), None);
        assert_eq!(collect_body(&info, Direction::Request, "t", b"q".to_vec(), false), None);
        // The response arrives while the request's chunks are still parked (same tag).
        assert_eq!(collect_body(&info, Direction::Response, "t", b"resp".to_vec(), false), None);
        assert_eq!(collect_body(&info, Direction::Response, "t", b"onse".to_vec(), true), Some(b"response".to_vec()));
        assert_eq!(collect_body(&info, Direction::Request, "t", b"uest".to_vec(), true), Some(b"request".to_vec()));
        // A second attempt starts afresh.
        let retry = RequestInfo { attempt: 2, ..info };
        assert_eq!(collect_body(&retry, Direction::Request, "t", b"again".to_vec(), true), Some(b"again".to_vec()));
    }

    #[test]
    fn subrequest_error_display() {
        use crate::format;
        assert_eq!(format!("{}", SubrequestError::Denied("host not allowed".into())), "denied: host not allowed");
        assert_eq!(format!("{}", SubrequestError::TooLarge), "too-large");
        assert_eq!(SubrequestError::Connect("refused".into()).to_text(), "connect: refused");
        assert_eq!(SubrequestError::Timeout.to_string(), "timeout");
    }
}

/// Decimal digits without core::fmt (which costs ~14 KB of wasm).
pub fn push_u32(s: &mut String, mut n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    s.extend(buf[i..].iter().map(|&b| b as char));
}
