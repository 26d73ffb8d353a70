//! The key-value store in native builds: one in-memory map per test thread, standing in for the
//! host's `keyvalue` interface. Seed it before calling a hook, read it back after; [`fail_with`]
//! makes every call answer an error (say, an unavailable backend) to test the filter's fallback.
//!
//! ```ignore
//! use praxis_filter::{keyvalue::KvError, testing};
//! testing::kv::seed("", "count", b"41");
//! filter.on_request_headers(&testing::request_info(), &head);
//! assert_eq!(testing::kv::value("", "count").as_deref(), Some(&b"42"[..]));
//! testing::kv::fail_with(Some(KvError::Unavailable("redis down".into())));
//! ```
use crate::keyvalue::KvError;
use crate::{String, ToString, Vec};
use std::cell::RefCell;

#[derive(Default)]
struct Store {
    /// (store, key) -> (value, ttl-ms as last set)
    entries: Vec<((String, String), (Vec<u8>, Option<u32>))>,
    failure: Option<KvError>,
}

std::thread_local! {
    static STORE: RefCell<Store> = RefCell::new(Store::default());
}

fn find(s: &Store, store: &str, key: &str) -> Option<usize> {
    s.entries.iter().position(|((n, k), _)| n == store && k == key)
}

fn put(s: &mut Store, store: &str, key: &str, value: Vec<u8>, ttl: Option<u32>) {
    match find(s, store, key) {
        Some(i) => s.entries[i].1 = (value, ttl),
        None => s.entries.push(((store.to_string(), key.to_string()), (value, ttl))),
    }
}

/// Runs `f` on the store, or answers the failure set by [`fail_with`].
fn with<T>(f: impl FnOnce(&mut Store) -> Result<T, KvError>) -> Result<T, KvError> {
    STORE.with(|s| {
        let mut s = s.borrow_mut();
        match s.failure.clone() {
            Some(e) => Err(e),
            None => f(&mut s),
        }
    })
}

/// Puts a value in the store before a hook runs (`store` "" is the plugin's own namespace).
pub fn seed(store: &str, key: &str, value: &[u8]) {
    STORE.with(|s| put(&mut s.borrow_mut(), store, key, value.to_vec(), None));
}

/// The value at `key` now, as a hook left it.
pub fn value(store: &str, key: &str) -> Option<Vec<u8>> {
    STORE.with(|s| {
        let s = s.borrow();
        find(&s, store, key).map(|i| s.entries[i].1 .0.clone())
    })
}

/// The TTL the last write of `key` asked for (None: no TTL, or no such key).
pub fn ttl(store: &str, key: &str) -> Option<u32> {
    STORE.with(|s| {
        let s = s.borrow();
        find(&s, store, key).and_then(|i| s.entries[i].1 .1)
    })
}

/// Every entry, as (store, key, value), in the order they were first written.
pub fn entries() -> Vec<(String, String, Vec<u8>)> {
    STORE.with(|s| s.borrow().entries.iter().map(|((n, k), (v, _))| (n.clone(), k.clone(), v.clone())).collect())
}

/// Some(error): every call answers it until `fail_with(None)` (or [`crate::testing::reset`]).
pub fn fail_with(error: Option<KvError>) {
    STORE.with(|s| s.borrow_mut().failure = error);
}

/// Empties the store and clears the failure.
pub(crate) fn clear() {
    STORE.with(|s| *s.borrow_mut() = Store::default());
}

pub fn get(store: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
    with(|s| Ok(find(s, store, key).map(|i| s.entries[i].1 .0.clone())))
}

pub fn set(store: &str, key: &str, value: &[u8], ttl_ms: Option<u32>) -> Result<(), KvError> {
    with(|s| {
        put(s, store, key, value.to_vec(), ttl_ms);
        Ok(())
    })
}

pub fn delete(store: &str, key: &str) -> Result<bool, KvError> {
    with(|s| Ok(find(s, store, key).map(|i| s.entries.remove(i)).is_some()))
}

pub fn increment(store: &str, key: &str, delta: i64, ttl_ms: Option<u32>) -> Result<i64, KvError> {
    with(|s| {
        let (current, ttl) = match find(s, store, key) {
            Some(i) => {
                let (v, t) = &s.entries[i].1;
                let n = core::str::from_utf8(v).ok().and_then(|t| t.parse::<i64>().ok());
                (n.ok_or_else(|| KvError::Invalid("the value is not an integer".to_string()))?, *t)
            }
            None => (0, ttl_ms),
        };
        let next = current.checked_add(delta).ok_or_else(|| KvError::Invalid("the increment overflows a signed 64-bit integer".to_string()))?;
        put(s, store, key, next.to_string().into_bytes(), ttl);
        Ok(next)
    })
}

pub fn compare_and_swap(store: &str, key: &str, expected: Option<&[u8]>, value: &[u8], ttl_ms: Option<u32>) -> Result<bool, KvError> {
    with(|s| {
        let current = find(s, store, key).map(|i| s.entries[i].1 .0.as_slice());
        if current != expected {
            return Ok(false);
        }
        put(s, store, key, value.to_vec(), ttl_ms);
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyvalue;

    #[test]
    fn calls_act_on_the_thread_store() {
        crate::testing::reset();
        seed("", "n", b"41");
        assert_eq!(keyvalue::increment("", "n", 1, None), Ok(42));
        assert_eq!(value("", "n"), Some(b"42".to_vec()));
        assert_eq!(keyvalue::increment("", "fresh", -3, Some(1000)), Ok(-3));
        assert_eq!(ttl("", "fresh"), Some(1000));
        assert_eq!(keyvalue::get("other", "n"), Ok(None));
        assert_eq!(keyvalue::compare_and_swap("", "c", None, b"a", None), Ok(true));
        assert_eq!(keyvalue::compare_and_swap("", "c", None, b"b", None), Ok(false));
        assert_eq!(keyvalue::compare_and_swap("", "c", Some(b"a"), b"b", None), Ok(true));
        assert_eq!(keyvalue::get("", "c"), Ok(Some(b"b".to_vec())));
        assert_eq!(keyvalue::delete("", "c"), Ok(true));
        assert_eq!(keyvalue::delete("", "c"), Ok(false));
        assert_eq!(keyvalue::set("", "t", b"x", None), Ok(()));
        assert!(matches!(keyvalue::increment("", "t", 1, None), Err(KvError::Invalid(_))));
        fail_with(Some(KvError::Unavailable("down".into())));
        assert_eq!(keyvalue::get("", "n"), Err(KvError::Unavailable("down".into())));
        assert_eq!(KvError::Limit("too big".into()).to_text(), "limit: too big");
        crate::testing::reset();
        assert!(entries().is_empty());
        assert_eq!(keyvalue::get("", "n"), Ok(None));
    }
}
