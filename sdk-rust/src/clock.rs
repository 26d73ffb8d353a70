//! The host's clocks: the `clock` interface of praxis:filter@0.2.0 (docs/wit.md). Whole
//! milliseconds (the host gives no finer timer on purpose); both calls are synchronous and never
//! fail.
//!
//! Native builds (`cargo test`) read the system clock until a test sets one with
//! [`crate::testing::clock`]; from then on time moves only when the test advances it.

/// Wall-clock time: milliseconds since the Unix epoch (one time base for every gateway, e.g.
/// windows several gateways share).
pub fn now_ms() -> u64 {
    imp::now_ms()
}

/// Monotonic milliseconds since an arbitrary start; never goes back (for durations).
pub fn monotonic_ms() -> u64 {
    imp::monotonic_ms()
}

#[cfg(target_arch = "wasm32")]
mod imp {
    #[link(wasm_import_module = "praxis:filter/clock@0.2.0")]
    extern "C" {
        #[link_name = "now-ms"]
        fn clock_now_ms() -> i64;
        #[link_name = "monotonic-ms"]
        fn clock_monotonic_ms() -> i64;
    }

    pub fn now_ms() -> u64 {
        unsafe { clock_now_ms() as u64 }
    }

    pub fn monotonic_ms() -> u64 {
        unsafe { clock_monotonic_ms() as u64 }
    }
}

/// Native stand-in: the test clock of [`crate::testing::clock`].
#[cfg(not(target_arch = "wasm32"))]
mod imp {
    pub use crate::testing::clock::{monotonic_ms, now_ms};
}
