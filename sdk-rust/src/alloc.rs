//! A small allocator for filter instances: one free list per power-of-two size class, no
//! headers, no coalescing. It costs ~1 KB of wasm instead of dlmalloc's ~7 KB, and a filter's
//! allocations repeat per call, so blocks are reused and memory stops growing after warm-up.
//! The price is up to 2x slack per block (a 1 MiB + 1 byte body takes a 2 MiB block).

const CLASSES: usize = 33;

pub struct Heap {
    free: [usize; CLASSES],
    next: usize,
    end: usize,
}

/// Size class: ceil(log2(max(size, align, 8))); the block is 1 << class bytes.
pub fn class(size: usize, align: usize) -> usize {
    let s = size.max(align).max(8);
    (usize::BITS - (s - 1).leading_zeros()) as usize
}

impl Heap {
    pub const fn new() -> Self {
        Heap { free: [0; CLASSES], next: 0, end: 0 }
    }

    /// `grow(bytes)` adds at least `bytes` of fresh memory and returns its (start, end), or None.
    pub unsafe fn alloc(&mut self, size: usize, align: usize, grow: impl FnOnce(usize) -> Option<(usize, usize)>) -> *mut u8 {
        let c = class(size, align);
        if c >= CLASSES {
            return core::ptr::null_mut();
        }
        let head = self.free[c];
        if head != 0 && head % align == 0 {
            self.free[c] = *(head as *const usize);
            return head as *mut u8;
        }
        let bsz = 1usize << c;
        // Blocks of 16 bytes or more start 16-aligned, so any align <= 16 can reuse them.
        let a = align.max(bsz.min(16));
        let mut p = (self.next + a - 1) & !(a - 1);
        if self.end == 0 || p.checked_add(bsz).map_or(true, |e| e > self.end) {
            let (start, end) = match grow(bsz + a) {
                Some(r) => r,
                None => return core::ptr::null_mut(),
            };
            if start != self.end {
                self.next = start; // not contiguous with what we had: abandon the old tail
            }
            self.end = end;
            p = (self.next + a - 1) & !(a - 1);
        }
        self.next = p + bsz;
        p as *mut u8
    }

    pub unsafe fn dealloc(&mut self, p: *mut u8, size: usize, align: usize) {
        let c = class(size, align);
        *(p as *mut usize) = self.free[c];
        self.free[c] = p as usize;
    }
}

#[cfg(target_arch = "wasm32")]
pub mod wasm {
    use super::*;
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;

    /// The SDK's `#[global_allocator]` (installed by `export_filter!`).
    pub struct SmallAlloc(UnsafeCell<Heap>);
    // SAFETY: wasm32-unknown-unknown without threads.
    unsafe impl Sync for SmallAlloc {}
    impl SmallAlloc {
        pub const fn new() -> Self {
            SmallAlloc(UnsafeCell::new(Heap::new()))
        }
    }

    fn grow(bytes: usize) -> Option<(usize, usize)> {
        let pages = (bytes + 0xffff) >> 16;
        let old = core::arch::wasm32::memory_grow(0, pages);
        if old == usize::MAX {
            return None;
        }
        Some((old << 16, (old + pages) << 16))
    }

    unsafe impl GlobalAlloc for SmallAlloc {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            (*self.0.get()).alloc(l.size(), l.align(), grow)
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            (*self.0.get()).dealloc(p, l.size(), l.align())
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
            if class(l.size(), l.align()) == class(new_size, l.align()) {
                return p; // still fits its block
            }
            let q = self.alloc(Layout::from_size_align_unchecked(new_size, l.align()));
            if !q.is_null() {
                core::ptr::copy_nonoverlapping(p, q, l.size().min(new_size));
                self.dealloc(p, l);
            }
            q
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vec;

    #[test]
    fn classes_reuse_and_alignment() {
        assert_eq!((class(0, 1), class(8, 8), class(9, 1), class(16, 16), class(1 << 20, 1)), (3, 3, 4, 4, 20));
        let mut arena = vec![0u64; 1 << 16]; // 512 KiB, 8-aligned
        let base = arena.as_mut_ptr() as usize;
        let mut given = false;
        let mut h = Heap::new();
        let mut grow = |_n: usize| {
            if given {
                return None;
            }
            given = true;
            Some((base, base + (1 << 19)))
        };
        unsafe {
            let a = h.alloc(5, 1, &mut grow);
            let b = h.alloc(100, 4, |_| None);
            assert_eq!(b as usize % 16, 0);
            assert_ne!(a, b);
            h.dealloc(b, 100, 4);
            assert_eq!(h.alloc(128, 8, |_| None), b, "same class reuses the block");
            let c = h.alloc(24, 16, |_| None);
            assert_eq!(c as usize % 16, 0);
            // A steady pattern of alloc/free does not move the bump pointer.
            let mark = h.next;
            for i in 0..10_000 {
                let p = h.alloc(i % 3000, 1, |_| None);
                assert!(!p.is_null());
                h.dealloc(p, i % 3000, 1);
            }
            let after_warmup = h.next;
            for i in 0..10_000 {
                let p = h.alloc(i % 3000, 1, |_| None);
                h.dealloc(p, i % 3000, 1);
            }
            assert_eq!(h.next, after_warmup);
            assert!(after_warmup - mark < 16384);
            assert!(h.alloc(1 << 20, 1, |_| None).is_null(), "out of memory is null, not a crash");
        }
    }
}
