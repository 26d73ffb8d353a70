//! The clocks in native builds. Until a test calls [`set`] or [`advance`], `clock::now_ms` reads
//! the system clock and `clock::monotonic_ms` counts from the test thread's first reading; after
//! it, both are frozen and move only by [`advance`], so a test can step through time windows
//! without sleeping. [`crate::testing::reset`] goes back to the system clock.
//!
//! ```ignore
//! use praxis_filter::testing;
//! testing::clock::set(1_700_000_000_000);
//! filter.on_request_headers(&testing::request_info(), &head);
//! testing::clock::advance(60_000); // the next window
//! ```
use std::cell::Cell;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

std::thread_local! {
    /// (wall ms, monotonic ms) while the clock is set; None: the system clock.
    static FROZEN: Cell<Option<(u64, u64)>> = Cell::new(None);
    static START: Instant = Instant::now();
}

fn system() -> (u64, u64) {
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let mono = START.with(|s| s.elapsed().as_millis() as u64);
    (wall, mono)
}

fn read() -> (u64, u64) {
    FROZEN.with(|f| f.get()).unwrap_or_else(system)
}

/// What `clock::now_ms` answers in native builds.
pub fn now_ms() -> u64 {
    read().0
}

/// What `clock::monotonic_ms` answers in native builds.
pub fn monotonic_ms() -> u64 {
    read().1
}

/// Freezes the wall clock at `now_ms` (the monotonic clock stays where it is, frozen too).
pub fn set(now_ms: u64) {
    let (_, mono) = read();
    FROZEN.with(|f| f.set(Some((now_ms, mono))));
}

/// Moves both clocks forward by `ms` (freezing them first if they run on the system clock).
pub fn advance(ms: u64) {
    let (wall, mono) = read();
    FROZEN.with(|f| f.set(Some((wall.saturating_add(ms), mono.saturating_add(ms)))));
}

/// Back to the system clock.
pub(crate) fn clear() {
    FROZEN.with(|f| f.set(None));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_advance_move_both_clocks_forward() {
        set(1_000);
        let m0 = monotonic_ms();
        assert_eq!(crate::clock::now_ms(), 1_000);
        advance(250);
        assert_eq!(crate::clock::now_ms(), 1_250);
        assert_eq!(crate::clock::monotonic_ms(), m0 + 250);
        clear();
        assert!(crate::clock::now_ms() > 1_600_000_000_000);
    }
}
