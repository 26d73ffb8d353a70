//! State across requests: the `keyvalue` interface of praxis:filter@0.2.0 (docs/keyvalue.md).
//!
//! `store` "" is the plugin's own namespace; any other name must be granted to the plugin in its
//! config (`plugins.<name>.keyvalue.namespaces`). Every call answers a value or a [`KvError`],
//! never a trap: a filter decides what an unavailable store means for its request (fail open or
//! closed). A call may suspend the hook while the host talks to the backend (Redis).
//!
//! Native builds (`cargo test`) get an in-memory store per test thread; [`crate::testing`] seeds
//! it, reads it back and makes calls fail.
#[allow(unused_imports)]
use crate::{String, ToString, Vec};

/// Why a store call did not happen. The reason is the host's, for logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvError {
    /// The backend is down, did not answer within the call's bound, or the request was cancelled.
    Unavailable(String),
    /// A bound was exceeded: key or value size, entries or bytes held by the plugin.
    Limit(String),
    /// The namespace is not granted to this plugin.
    Denied(String),
    /// The operation does not fit the stored value (increment on a value that is not an integer).
    Invalid(String),
}

impl KvError {
    /// The error's kind as the WIT names it (`unavailable`, `limit`, `denied`, `invalid`).
    pub fn kind(&self) -> &'static str {
        match self {
            KvError::Unavailable(_) => "unavailable",
            KvError::Limit(_) => "limit",
            KvError::Denied(_) => "denied",
            KvError::Invalid(_) => "invalid",
        }
    }
    pub fn reason(&self) -> &str {
        match self {
            KvError::Unavailable(r) | KvError::Limit(r) | KvError::Denied(r) | KvError::Invalid(r) => r,
        }
    }
    /// "kind: reason", without core::fmt (the cheap way to log an error in a hook).
    pub fn to_text(&self) -> String {
        let mut s = String::from(self.kind());
        s.push_str(": ");
        s.push_str(self.reason());
        s
    }
}

impl core::fmt::Display for KvError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.kind(), self.reason())
    }
}

/// The value at `key`, or None when there is none.
pub fn get(store: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
    imp::get(store, key)
}

/// Stores `value` at `key`; `ttl_ms` None keeps it until it is deleted or evicted.
pub fn set(store: &str, key: &str, value: &[u8], ttl_ms: Option<u32>) -> Result<(), KvError> {
    imp::set(store, key, value, ttl_ms)
}

/// Removes `key`; true when there was a value.
pub fn delete(store: &str, key: &str) -> Result<bool, KvError> {
    imp::delete(store, key)
}

/// Adds `delta` to the integer at `key` (absent counts as 0) and answers the new value; `ttl_ms`
/// applies only when the key is created. Counters are decimal ASCII digits: [`get`] on one
/// answers its digits.
pub fn increment(store: &str, key: &str, delta: i64, ttl_ms: Option<u32>) -> Result<i64, KvError> {
    imp::increment(store, key, delta, ttl_ms)
}

/// Writes `value` only if the current value equals `expected` (None: the key is absent); true
/// when it wrote.
pub fn compare_and_swap(store: &str, key: &str, expected: Option<&[u8]>, value: &[u8], ttl_ms: Option<u32>) -> Result<bool, KvError> {
    imp::compare_and_swap(store, key, expected, value, ttl_ms)
}

/// `kv-error` at `at` (12 bytes): case tag @0, reason string @4.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))] // wasm glue; native tests drive it
pub(crate) fn lift_error<M: crate::abi::Mem>(m: &mut M, at: u32) -> KvError {
    let reason = m.take_string(m.load(at + 4, 4), m.load(at + 8, 4));
    match m.load(at, 1) {
        0 => KvError::Unavailable(reason),
        1 => KvError::Limit(reason),
        2 => KvError::Denied(reason),
        _ => KvError::Invalid(reason),
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{lift_error, KvError};
    use crate::abi::{Mem, WasmMem};
    use crate::Vec;

    #[link(wasm_import_module = "praxis:filter/keyvalue@0.2.0")]
    extern "C" {
        #[link_name = "get"]
        fn kv_get(sp: u32, sl: u32, kp: u32, kl: u32, ret: u32);
        #[link_name = "set"]
        fn kv_set(sp: u32, sl: u32, kp: u32, kl: u32, vp: u32, vl: u32, tt: u32, tv: u32, ret: u32);
        #[link_name = "delete"]
        fn kv_delete(sp: u32, sl: u32, kp: u32, kl: u32, ret: u32);
        #[link_name = "increment"]
        fn kv_increment(sp: u32, sl: u32, kp: u32, kl: u32, delta: i64, tt: u32, tv: u32, ret: u32);
        #[link_name = "compare-and-swap"]
        fn kv_cas(sp: u32, sl: u32, kp: u32, kl: u32, et: u32, ep: u32, el: u32, vp: u32, vl: u32, tt: u32, tv: u32, ret: u32);
    }

    fn ttl(t: Option<u32>) -> (u32, u32) {
        t.map_or((0, 0), |v| (1, v))
    }

    /// The 16-byte results (get, set, delete, compare-and-swap): tag @0, payload @4.
    fn finish<T>(ret: &[u32; 4], ok: impl FnOnce(&mut WasmMem, u32) -> T) -> Result<T, KvError> {
        let mut m = WasmMem::new();
        let at = ret.as_ptr() as u32;
        if m.load(at, 1) == 0 {
            Ok(ok(&mut m, at + 4))
        } else {
            Err(lift_error(&mut m, at + 4))
        }
    }

    pub fn get(store: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let mut ret = [0u32; 4];
        unsafe { kv_get(store.as_ptr() as u32, store.len() as u32, key.as_ptr() as u32, key.len() as u32, ret.as_mut_ptr() as u32) };
        finish(&ret, |m, at| crate::abi::lift_opt_bytes(m, at))
    }

    pub fn set(store: &str, key: &str, value: &[u8], ttl_ms: Option<u32>) -> Result<(), KvError> {
        let mut ret = [0u32; 4];
        let (tt, tv) = ttl(ttl_ms);
        unsafe {
            kv_set(store.as_ptr() as u32, store.len() as u32, key.as_ptr() as u32, key.len() as u32, value.as_ptr() as u32, value.len() as u32, tt, tv, ret.as_mut_ptr() as u32)
        };
        finish(&ret, |_, _| ())
    }

    pub fn delete(store: &str, key: &str) -> Result<bool, KvError> {
        let mut ret = [0u32; 4];
        unsafe { kv_delete(store.as_ptr() as u32, store.len() as u32, key.as_ptr() as u32, key.len() as u32, ret.as_mut_ptr() as u32) };
        finish(&ret, |m, at| m.load(at, 1) != 0)
    }

    pub fn increment(store: &str, key: &str, delta: i64, ttl_ms: Option<u32>) -> Result<i64, KvError> {
        // result<s64, kv-error>: 24 bytes, 8-aligned; the payload is @8.
        let mut ret = [0u64; 3];
        let (tt, tv) = ttl(ttl_ms);
        let at = ret.as_mut_ptr() as u32;
        unsafe { kv_increment(store.as_ptr() as u32, store.len() as u32, key.as_ptr() as u32, key.len() as u32, delta, tt, tv, at) };
        let mut m = WasmMem::new();
        if m.load(at, 1) == 0 {
            Ok(ret[1] as i64)
        } else {
            Err(lift_error(&mut m, at + 8))
        }
    }

    pub fn compare_and_swap(store: &str, key: &str, expected: Option<&[u8]>, value: &[u8], ttl_ms: Option<u32>) -> Result<bool, KvError> {
        let mut ret = [0u32; 4];
        let (et, ep, el) = expected.map_or((0, 0, 0), |e| (1, e.as_ptr() as u32, e.len() as u32));
        let (tt, tv) = ttl(ttl_ms);
        unsafe {
            kv_cas(
                store.as_ptr() as u32, store.len() as u32, key.as_ptr() as u32, key.len() as u32,
                et, ep, el, value.as_ptr() as u32, value.len() as u32, tt, tv, ret.as_mut_ptr() as u32,
            )
        };
        finish(&ret, |m, at| m.load(at, 1) != 0)
    }
}

/// Native stand-in: the in-memory store of [`crate::testing`] (TTLs are kept but never expire).
#[cfg(not(target_arch = "wasm32"))]
mod imp {
    pub use crate::testing::kv::{compare_and_swap, delete, get, increment, set};
}
