//! Hand-written canonical ABI for praxis:filter@0.2.0 (layouts in docs/abi.md).
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))] // the glue runs on wasm; tests drive it natively
//!
//! Lifting and lowering go through [`Mem`], a view of linear memory with 32-bit addresses, so the
//! same code runs over real wasm memory and, in native unit tests, over a simulated one.
//! Every record here has alignment 4 and a size that is a multiple of 4, so a lowered record is
//! a list of u32 words (a u8 tag or u16 status is a word holding that value; little-endian).
#[allow(unused_imports)]
use crate::{format, vec, Box, String, ToOwned, ToString, Vec};

use crate::types::*;

pub trait Mem {
    /// Little-endian load of 1, 2 or 4 bytes.
    fn load(&self, addr: u32, n: u32) -> u32;
    /// Takes ownership of a host-allocated byte list (allocated with cabi_realloc(.., 1, len)).
    fn take_bytes(&mut self, ptr: u32, len: u32) -> Vec<u8>;
    /// Same for a string; the canonical ABI guarantees valid UTF-8.
    fn take_string(&mut self, ptr: u32, len: u32) -> String;
    /// Frees a host-allocated array once its elements were taken.
    fn free(&mut self, ptr: u32, size: u32, align: u32);
    /// Address of bytes the caller keeps alive until the host is done with them.
    fn lend(&mut self, bytes: &[u8]) -> u32;
    /// Address of words this Mem keeps alive until it is cleared or dropped.
    fn lend_words(&mut self, words: Vec<u32>) -> u32;
}

// ---- lowering (guest -> host) ----

fn lower_bytes<M: Mem>(m: &mut M, b: &[u8], w: &mut Vec<u32>) {
    w.push(m.lend(b));
    w.push(b.len() as u32);
}

fn lower_headers<M: Mem>(m: &mut M, h: &Headers, w: &mut Vec<u32>) {
    let mut a = Vec::with_capacity(h.0.len() * 4);
    for (k, v) in &h.0 {
        lower_bytes(m, k.as_bytes(), &mut a);
        lower_bytes(m, v.as_bytes(), &mut a);
    }
    w.push(m.lend_words(a));
    w.push(h.0.len() as u32);
}

fn lower_opt_bytes<M: Mem>(m: &mut M, o: Option<&[u8]>, w: &mut Vec<u32>) {
    match o {
        Some(b) => {
            w.push(1);
            lower_bytes(m, b, w);
        }
        None => w.extend_from_slice(&[0, 0, 0]),
    }
}

fn lower_mode(mode: BodyMode, w: &mut Vec<u32>) {
    match mode {
        BodyMode::None => w.extend_from_slice(&[0, 0]),
        BodyMode::Stream => w.extend_from_slice(&[1, 0]),
        BodyMode::StreamBuffer(n) => w.extend_from_slice(&[2, n]),
    }
}

/// `result<filter-info, string>`: 8 words (the header-hooks flags byte is word 7).
pub fn lower_configure<M: Mem>(m: &mut M, r: &Result<FilterInfo, String>) -> Vec<u32> {
    let mut w = Vec::with_capacity(8);
    match r {
        Ok(info) => {
            w.push(0);
            lower_bytes(m, info.name.as_bytes(), &mut w);
            lower_mode(info.request_body, &mut w);
            lower_mode(info.response_body, &mut w);
            w.push(info.header_hooks.bits());
        }
        Err(e) => {
            w.push(1);
            lower_bytes(m, e.as_bytes(), &mut w);
        }
    }
    w.resize(8, 0);
    w
}

/// `action`: 12 words.
pub fn lower_action<M: Mem>(m: &mut M, a: &Action) -> Vec<u32> {
    let mut w = Vec::with_capacity(12);
    match a {
        Action::Continue(None) => w.extend_from_slice(&[0, 0]),
        Action::Continue(Some(mu)) => {
            w.extend_from_slice(&[0, 1]);
            lower_headers(m, &mu.set_headers, &mut w);
            let mut names = Vec::with_capacity(mu.remove_headers.len() * 2);
            for n in &mu.remove_headers {
                lower_bytes(m, n.as_bytes(), &mut names);
            }
            w.push(m.lend_words(names));
            w.push(mu.remove_headers.len() as u32);
            lower_opt_bytes(m, mu.body.as_deref(), &mut w);
            lower_opt_bytes(m, mu.upstream.as_ref().map(|s| s.as_bytes()), &mut w);
        }
        Action::Reject(r) => {
            w.extend_from_slice(&[1, r.status as u32]);
            lower_headers(m, &r.headers, &mut w);
            lower_opt_bytes(m, r.body.as_deref(), &mut w);
        }
        Action::Release => w.push(2),
        Action::BodyDone => w.push(3),
    }
    w.resize(12, 0);
    w
}

/// `subrequest`: 11 words, which are also the flattened arguments of `http-subrequest`.
pub fn lower_subrequest<M: Mem>(m: &mut M, r: &Subrequest, w: &mut Vec<u32>) {
    lower_bytes(m, r.method.as_bytes(), w);
    lower_bytes(m, r.url.as_bytes(), w);
    lower_headers(m, &r.headers, w);
    lower_opt_bytes(m, r.body.as_deref(), w);
    match r.timeout_ms {
        Some(t) => w.extend_from_slice(&[1, t]),
        None => w.extend_from_slice(&[0, 0]),
    }
}

// ---- lifting (host -> guest); the guest owns and frees what it lifts ----

pub fn lift_headers<M: Mem>(m: &mut M, ptr: u32, n: u32) -> Headers {
    let mut v = Vec::with_capacity(n as usize);
    for i in 0..n {
        let e = ptr + i * 16;
        let k = m.take_string(m.load(e, 4), m.load(e + 4, 4));
        let val = m.take_string(m.load(e + 8, 4), m.load(e + 12, 4));
        v.push((k, val));
    }
    m.free(ptr, n * 16, 4);
    Headers(v)
}

/// `request-info` from its 5 flattened words.
pub fn lift_info<M: Mem>(m: &mut M, a: &[u32]) -> RequestInfo {
    RequestInfo { request_id: m.take_string(a[0], a[1]), attempt: a[2], route: m.take_string(a[3], a[4]) }
}

/// `request-head` from its 8 flattened words.
pub fn lift_request_head<M: Mem>(m: &mut M, a: &[u32]) -> RequestHead {
    RequestHead {
        method: m.take_string(a[0], a[1]),
        path: m.take_string(a[2], a[3]),
        authority: m.take_string(a[4], a[5]),
        headers: lift_headers(m, a[6], a[7]),
    }
}

/// `result<subresponse, subrequest-error>` stored at `at` (24 bytes).
pub fn lift_sub_result<M: Mem>(m: &mut M, at: u32) -> Result<Subresponse, SubrequestError> {
    if m.load(at, 1) == 0 {
        let status = m.load(at + 4, 2) as u16;
        let headers = lift_headers(m, m.load(at + 8, 4), m.load(at + 12, 4));
        let body = m.take_bytes(m.load(at + 16, 4), m.load(at + 20, 4));
        return Ok(Subresponse { status, headers, body });
    }
    let tag = m.load(at + 4, 1);
    let reason = |m: &mut M| m.take_string(m.load(at + 8, 4), m.load(at + 12, 4));
    Err(match tag {
        0 => SubrequestError::Timeout,
        1 => SubrequestError::TooLarge,
        2 => SubrequestError::Denied(reason(m)),
        3 => SubrequestError::Overloaded,
        4 => SubrequestError::Cancelled,
        5 => SubrequestError::Connect(reason(m)),
        _ => SubrequestError::Protocol(reason(m)),
    })
}

/// `list<result<subresponse, subrequest-error>>` at (ptr, n).
pub fn lift_sub_results<M: Mem>(m: &mut M, ptr: u32, n: u32) -> Vec<Result<Subresponse, SubrequestError>> {
    let v = (0..n).map(|i| lift_sub_result(m, ptr + i * 24)).collect();
    m.free(ptr, n * 24, 4);
    v
}

/// `option<list<u8>>` at `at` (12 bytes).
pub fn lift_opt_bytes<M: Mem>(m: &mut M, at: u32) -> Option<Vec<u8>> {
    if m.load(at, 1) == 0 {
        return None;
    }
    Some(m.take_bytes(m.load(at + 4, 4), m.load(at + 8, 4)))
}

/// Linear memory of the running wasm instance: addresses are pointers.
#[cfg(target_arch = "wasm32")]
pub struct WasmMem {
    keep: Vec<Vec<u32>>,
}

#[cfg(target_arch = "wasm32")]
impl WasmMem {
    pub const fn new() -> Self {
        WasmMem { keep: Vec::new() }
    }
    pub fn clear(&mut self) {
        self.keep.clear();
    }
}

#[cfg(target_arch = "wasm32")]
impl Mem for WasmMem {
    fn load(&self, addr: u32, n: u32) -> u32 {
        // SAFETY: the host handed us these addresses inside our own memory.
        unsafe {
            match n {
                1 => *(addr as *const u8) as u32,
                2 => core::ptr::read_unaligned(addr as *const u16) as u32,
                _ => core::ptr::read_unaligned(addr as *const u32),
            }
        }
    }
    fn take_bytes(&mut self, ptr: u32, len: u32) -> Vec<u8> {
        if len == 0 {
            return Vec::new(); // nothing was allocated for it (cabi_realloc returns a dangling pointer)
        }
        // SAFETY: allocated by the host through cabi_realloc(0, 0, 1, len): exactly this layout.
        unsafe { Vec::from_raw_parts(ptr as *mut u8, len as usize, len as usize) }
    }
    fn take_string(&mut self, ptr: u32, len: u32) -> String {
        // SAFETY: as above, and the canonical ABI requires the host to write valid UTF-8.
        unsafe { String::from_utf8_unchecked(self.take_bytes(ptr, len)) }
    }
    fn free(&mut self, ptr: u32, size: u32, align: u32) {
        if size != 0 {
            // SAFETY: allocated through cabi_realloc with this size and alignment.
            unsafe { alloc_crate::alloc::dealloc(ptr as *mut u8, alloc_crate::alloc::Layout::from_size_align_unchecked(size as usize, align as usize)) }
        }
    }
    fn lend(&mut self, bytes: &[u8]) -> u32 {
        bytes.as_ptr() as u32
    }
    fn lend_words(&mut self, words: Vec<u32>) -> u32 {
        let p = words.as_ptr() as u32; // the heap buffer does not move when the Vec does
        self.keep.push(words);
        p
    }
}

/// What `export_filter!` calls. Wasm is single-threaded here: no instance runs two calls at once
/// (the host lends an instance to one call at a time), so plain cells are enough.
#[cfg(target_arch = "wasm32")]
pub mod rt {
    use super::*;
    use crate::Filter;
    use core::cell::UnsafeCell;

    pub struct Slot<T>(UnsafeCell<Option<T>>);
    // SAFETY: wasm32-unknown-unknown without threads; one call at a time per instance.
    unsafe impl<T> Sync for Slot<T> {}
    impl<T> Slot<T> {
        pub const fn new() -> Self {
            Slot(UnsafeCell::new(None))
        }
    }

    /// The last export's result and everything it points at, kept until cabi_post frees it.
    struct Ret {
        mem: WasmMem,
        action: Option<Action>,
        configured: Option<Result<FilterInfo, String>>,
    }
    struct RetCell(UnsafeCell<Ret>);
    unsafe impl Sync for RetCell {}
    static RET: RetCell = RetCell(UnsafeCell::new(Ret { mem: WasmMem::new(), action: None, configured: None }));

    fn ret() -> &'static mut Ret {
        // SAFETY: single-threaded, and no two borrows live at once (see callers).
        unsafe { &mut *RET.0.get() }
    }

    pub unsafe fn realloc(old: u32, old_size: u32, align: u32, new_size: u32) -> u32 {
        use alloc_crate::alloc::{alloc, dealloc, realloc as re, Layout};
        let layout = Layout::from_size_align_unchecked(old_size as usize, align as usize);
        if new_size == 0 {
            if old_size != 0 {
                dealloc(old as *mut u8, layout);
            }
            return align; // a dangling, aligned pointer for an empty allocation
        }
        let p = if old_size == 0 {
            alloc(Layout::from_size_align_unchecked(new_size as usize, align as usize))
        } else {
            re(old as *mut u8, layout, new_size as usize)
        };
        if p.is_null() {
            core::arch::wasm32::unreachable();
        }
        p as u32
    }

    fn instance<T>(slot: &'static Slot<T>) -> &'static mut T {
        // SAFETY: single-threaded; the hook borrow ends before the next export call.
        match unsafe { &mut *slot.0.get() } {
            Some(f) => f,
            None => {
                crate::log::error("praxis-filter: hook called before configure");
                core::arch::wasm32::unreachable()
            }
        }
    }

    pub unsafe fn configure<T: Filter>(slot: &'static Slot<T>, p: u32, n: u32) -> u32 {
        crate::host::install_panic_hook();
        let config = WasmMem::new().take_string(p, n);
        let mut f = T::default();
        let r = f.configure(&config);
        *slot.0.get() = Some(f);
        let ret = ret();
        let r = ret.configured.insert(r);
        let words = lower_configure(&mut ret.mem, r);
        ret.mem.lend_words(words)
    }

    fn finish(a: Action) -> u32 {
        let ret = ret();
        let a = ret.action.insert(a);
        let words = lower_action(&mut ret.mem, a);
        ret.mem.lend_words(words)
    }

    pub unsafe fn request_headers<T: Filter>(slot: &'static Slot<T>, a: [u32; 13]) -> u32 {
        let mut m = WasmMem::new();
        let info = lift_info(&mut m, &a[..5]);
        let head = lift_request_head(&mut m, &a[5..]);
        finish(instance(slot).on_request_headers(&info, &head))
    }

    pub unsafe fn body<T: Filter>(slot: &'static Slot<T>, response: bool, a: [u32; 8]) -> u32 {
        let mut m = WasmMem::new();
        let info = lift_info(&mut m, &a[..5]);
        let chunk = m.take_bytes(a[5], a[6]);
        let f = instance(slot);
        let eos = a[7] != 0;
        finish(if response { f.on_response_body(&info, chunk, eos) } else { f.on_request_body(&info, chunk, eos) })
    }

    pub unsafe fn response_headers<T: Filter>(slot: &'static Slot<T>, a: [u32; 8]) -> u32 {
        let mut m = WasmMem::new();
        let info = lift_info(&mut m, &a[..5]);
        let head = ResponseHead { status: a[5] as u16, headers: lift_headers(&mut m, a[6], a[7]) };
        finish(instance(slot).on_response_headers(&info, &head))
    }

    /// cabi_post for every export: drops the result and the arrays lowered for it.
    pub fn post() {
        let ret = ret();
        ret.mem.clear();
        ret.action = None;
        ret.configured = None;
    }
}

#[cfg(test)]
mod tests;
