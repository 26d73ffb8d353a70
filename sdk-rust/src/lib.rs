//! Write praxis-wasm filters in Rust. Implement [`Filter`], then `export_filter!(MyFilter);`.
//!
//! The canonical-ABI glue is hand-written (see `abi.rs`) so the crate needs no dependencies and
//! builds offline on rustc 1.63 as well as current stable.
//!
//! On wasm the crate is `#![no_std]` (plugins declare `#![no_std]` too): the SDK brings the
//! allocator and a panic handler that logs "panic at <file>:<line>" without core::fmt. `String`,
//! `Vec`, `Box`, `ToString`, `ToOwned`, `vec!` and `format!` are re-exported for plugins.
#![no_std]
#![cfg_attr(praxis_oom_handler, feature(alloc_error_handler))]

extern crate alloc as alloc_crate;
#[cfg(any(not(target_arch = "wasm32"), praxis_std))]
extern crate std;

#[doc(no_inline)]
pub use alloc_crate::{borrow::ToOwned, boxed::Box, format, string::{String, ToString}, vec, vec::Vec};

mod abi;
pub mod clock;
#[doc(hidden)]
pub mod alloc;
mod host;
pub mod json;
pub mod keyvalue;
mod types;
/// Mocked sub-requests and captured logs for native unit tests (`cargo test`); not in wasm builds.
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use host::{collect_body, context, http_subrequest, http_subrequest_all, log, push_u32};
pub use keyvalue::KvError;
pub use types::*;

/// A filter. One value lives per wasm instance: `Default` makes it, `configure` sets it up.
/// Instances are pooled and not pinned to a request, so state a request needs across hooks (or
/// across retries) belongs in [`context`], not in `self`.
pub trait Filter: Default {
    /// Called once per instance with the plugin's JSON config.
    fn configure(&mut self, config: &str) -> Result<FilterInfo, String>;
    fn on_request_headers(&mut self, _info: &RequestInfo, _head: &RequestHead) -> Action {
        Action::Continue(None)
    }
    fn on_request_body(&mut self, _info: &RequestInfo, _chunk: Vec<u8>, _end_of_stream: bool) -> Action {
        Action::Continue(None)
    }
    fn on_response_headers(&mut self, _info: &RequestInfo, _head: &ResponseHead) -> Action {
        Action::Continue(None)
    }
    fn on_response_body(&mut self, _info: &RequestInfo, _chunk: Vec<u8>, _end_of_stream: bool) -> Action {
        Action::Continue(None)
    }
}

/// Runtime glue used by [`export_filter!`]; not a stable API.
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod rt {
    pub use crate::abi::rt::*;
    pub use crate::alloc::wasm::SmallAlloc;
}

/// Writes the component exports (`praxis:filter/filter@0.2.0#…`, their `cabi_post_…` and
/// `cabi_realloc`) for a [`Filter`] type. Use once per crate. Native builds get nothing, so a
/// plugin crate can still run `cargo test` on the host.
#[macro_export]
macro_rules! export_filter {
    ($t:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            static SLOT: $crate::rt::Slot<$t> = $crate::rt::Slot::new();
            #[global_allocator]
            static ALLOC: $crate::rt::SmallAlloc = $crate::rt::SmallAlloc::new();

            #[export_name = "cabi_realloc"]
            unsafe extern "C" fn cabi_realloc(old: u32, old_size: u32, align: u32, new_size: u32) -> u32 {
                $crate::rt::realloc(old, old_size, align, new_size)
            }
            #[export_name = "praxis:filter/filter@0.2.0#configure"]
            unsafe extern "C" fn configure(p: u32, n: u32) -> u32 {
                $crate::rt::configure(&SLOT, p, n)
            }
            #[export_name = "praxis:filter/filter@0.2.0#on-request-headers"]
            unsafe extern "C" fn on_request_headers(
                a0: u32, a1: u32, a2: u32, a3: u32, a4: u32, a5: u32, a6: u32,
                a7: u32, a8: u32, a9: u32, a10: u32, a11: u32, a12: u32,
            ) -> u32 {
                $crate::rt::request_headers(&SLOT, [a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12])
            }
            #[export_name = "praxis:filter/filter@0.2.0#on-request-body"]
            unsafe extern "C" fn on_request_body(a0: u32, a1: u32, a2: u32, a3: u32, a4: u32, a5: u32, a6: u32, a7: u32) -> u32 {
                $crate::rt::body(&SLOT, false, [a0, a1, a2, a3, a4, a5, a6, a7])
            }
            #[export_name = "praxis:filter/filter@0.2.0#on-response-headers"]
            unsafe extern "C" fn on_response_headers(a0: u32, a1: u32, a2: u32, a3: u32, a4: u32, a5: u32, a6: u32, a7: u32) -> u32 {
                $crate::rt::response_headers(&SLOT, [a0, a1, a2, a3, a4, a5, a6, a7])
            }
            #[export_name = "praxis:filter/filter@0.2.0#on-response-body"]
            unsafe extern "C" fn on_response_body(a0: u32, a1: u32, a2: u32, a3: u32, a4: u32, a5: u32, a6: u32, a7: u32) -> u32 {
                $crate::rt::body(&SLOT, true, [a0, a1, a2, a3, a4, a5, a6, a7])
            }
            #[export_name = "cabi_post_praxis:filter/filter@0.2.0#configure"]
            unsafe extern "C" fn post_configure(_: u32) { $crate::rt::post() }
            #[export_name = "cabi_post_praxis:filter/filter@0.2.0#on-request-headers"]
            unsafe extern "C" fn post_request_headers(_: u32) { $crate::rt::post() }
            #[export_name = "cabi_post_praxis:filter/filter@0.2.0#on-request-body"]
            unsafe extern "C" fn post_request_body(_: u32) { $crate::rt::post() }
            #[export_name = "cabi_post_praxis:filter/filter@0.2.0#on-response-headers"]
            unsafe extern "C" fn post_response_headers(_: u32) { $crate::rt::post() }
            #[export_name = "cabi_post_praxis:filter/filter@0.2.0#on-response-body"]
            unsafe extern "C" fn post_response_body(_: u32) { $crate::rt::post() }
        };
    };
}
