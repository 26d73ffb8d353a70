//! Native tests of the layouts: a simulated 32-bit linear memory stands in for wasm memory, and
//! a reader written straight from docs/abi.md's offsets plays the host.

use super::*;
use std::collections::BTreeMap;

#[derive(Default)]
struct TestMem {
    bytes: Vec<u8>,
    /// Live host allocations: ptr -> (size, align). Taking or freeing removes them.
    live: BTreeMap<u32, (u32, u32)>,
}

impl TestMem {
    fn new() -> Self {
        TestMem { bytes: vec![0; 8], live: BTreeMap::new() }
    }
    fn alloc(&mut self, size: u32, align: u32) -> u32 {
        if size == 0 {
            return align;
        }
        while self.bytes.len() % align as usize != 0 {
            self.bytes.push(0xAA); // garbage padding, as a real allocator may leave
        }
        let p = self.bytes.len() as u32;
        self.bytes.resize(self.bytes.len() + size as usize, 0xAA);
        self.live.insert(p, (size, align));
        p
    }
    fn put(&mut self, b: &[u8]) -> (u32, u32) {
        let p = self.alloc(b.len() as u32, 1);
        self.bytes[p as usize..p as usize + b.len()].copy_from_slice(b);
        (p, b.len() as u32)
    }
    fn store(&mut self, at: u32, v: u32, n: u32) {
        self.bytes[at as usize..(at + n) as usize].copy_from_slice(&v.to_le_bytes()[..n as usize]);
    }
    fn put_headers(&mut self, h: &[(&str, &str)]) -> (u32, u32) {
        let a = self.alloc(16 * h.len() as u32, 4);
        for (i, (k, v)) in h.iter().enumerate() {
            let (kp, kl) = self.put(k.as_bytes());
            let (vp, vl) = self.put(v.as_bytes());
            let e = a + 16 * i as u32;
            for (j, w) in [kp, kl, vp, vl].iter().enumerate() {
                self.store(e + 4 * j as u32, *w, 4);
            }
        }
        (a, h.len() as u32)
    }
    fn u32_at(&self, at: u32) -> u32 {
        self.load(at, 4)
    }
    fn str_at(&self, at: u32) -> String {
        let (p, n) = (self.u32_at(at) as usize, self.u32_at(at + 4) as usize);
        String::from_utf8(self.bytes[p..p + n].to_vec()).unwrap()
    }
    fn headers_at(&self, at: u32) -> Vec<(String, String)> {
        let (p, n) = (self.u32_at(at), self.u32_at(at + 4));
        (0..n).map(|i| (self.str_at(p + 16 * i), self.str_at(p + 16 * i + 8))).collect()
    }
}

impl Mem for TestMem {
    fn load(&self, addr: u32, n: u32) -> u32 {
        let mut b = [0u8; 4];
        b[..n as usize].copy_from_slice(&self.bytes[addr as usize..(addr + n) as usize]);
        u32::from_le_bytes(b)
    }
    fn take_bytes(&mut self, ptr: u32, len: u32) -> Vec<u8> {
        if len == 0 {
            return Vec::new();
        }
        assert_eq!(self.live.remove(&ptr), Some((len, 1)), "taken with the layout it was allocated with");
        self.bytes[ptr as usize..(ptr + len) as usize].to_vec()
    }
    fn take_string(&mut self, ptr: u32, len: u32) -> String {
        String::from_utf8(self.take_bytes(ptr, len)).unwrap()
    }
    fn free(&mut self, ptr: u32, size: u32, align: u32) {
        if size != 0 {
            assert_eq!(self.live.remove(&ptr), Some((size, align)));
        }
    }
    fn lend(&mut self, b: &[u8]) -> u32 {
        let p = self.alloc(b.len() as u32, 1);
        self.bytes[p as usize..p as usize + b.len()].copy_from_slice(b);
        p
    }
    fn lend_words(&mut self, words: Vec<u32>) -> u32 {
        let p = self.alloc(4 * words.len() as u32, 4);
        for (i, w) in words.iter().enumerate() {
            self.store(p + 4 * i as u32, *w, 4);
        }
        p
    }
}

fn many_headers(n: usize) -> Headers {
    Headers((0..n).map(|i| (format!("x-h{}", i), format!("välue-{}-😀", i))).collect())
}

#[test]
fn action_continue_with_mutations() {
    let mut m = TestMem::new();
    let mu = Mutations {
        set_headers: many_headers(100),
        remove_headers: vec!["a".into(), "".into(), "ü".into()],
        body: Some(vec![0, 255, 7]),
        upstream: Some("up-ü".into()),
    };
    let w = lower_action(&mut m, &Action::Continue(Some(mu.clone())));
    let at = m.lend_words(w);
    assert_eq!(m.load(at, 1), 0);
    assert_eq!(m.load(at + 4, 1), 1);
    assert_eq!(Headers(m.headers_at(at + 8)), mu.set_headers);
    let (rp, rn) = (m.u32_at(at + 16), m.u32_at(at + 20));
    let removed: Vec<String> = (0..rn).map(|i| m.str_at(rp + 8 * i)).collect();
    assert_eq!(removed, mu.remove_headers);
    assert_eq!(m.load(at + 24, 1), 1);
    let (bp, bn) = (m.u32_at(at + 28) as usize, m.u32_at(at + 32) as usize);
    assert_eq!(&m.bytes[bp..bp + bn], &[0, 255, 7]);
    assert_eq!(m.load(at + 36, 1), 1);
    assert_eq!(m.str_at(at + 40), "up-ü");
}

#[test]
fn action_other_variants() {
    let mut m = TestMem::new();
    let w = lower_action(&mut m, &Action::Continue(None));
    assert_eq!(w.len(), 12);
    assert_eq!(&w[..2], &[0, 0]);
    let empty = Action::Continue(Some(Mutations::default()));
    let at = { let w = lower_action(&mut m, &empty); m.lend_words(w) };
    assert_eq!((m.load(at + 4, 1), m.u32_at(at + 12), m.u32_at(at + 20), m.load(at + 24, 1), m.load(at + 36, 1)), (1, 0, 0, 0, 0));
    let rej = Rejection::json(503, "{\"error\":\"é\"}").header("retry-after", "1");
    let at = { let w = lower_action(&mut m, &Action::Reject(rej)); m.lend_words(w) };
    assert_eq!((m.load(at, 1), m.load(at + 4, 2)), (1, 503));
    assert_eq!(m.headers_at(at + 8), vec![("content-type".into(), "application/json".into()), ("retry-after".into(), "1".into())]);
    assert_eq!(m.load(at + 16, 1), 1);
    assert_eq!(m.str_at(at + 20), "{\"error\":\"é\"}");
    let at = { let w = lower_action(&mut m, &Action::Reject(Rejection::new(403))); m.lend_words(w) };
    assert_eq!((m.load(at + 4, 2), m.u32_at(at + 12), m.load(at + 16, 1)), (403, 0, 0));
    assert_eq!(lower_action(&mut m, &Action::Release)[0], 2);
    assert_eq!(lower_action(&mut m, &Action::BodyDone)[0], 3);
}

#[test]
fn configure_result() {
    let mut m = TestMem::new();
    let info = FilterInfo::new("naïve").request_body(BodyMode::StreamBuffer(1 << 20)).response_body(BodyMode::Stream);
    let at = { let w = lower_configure(&mut m, &Ok(info)); m.lend_words(w) };
    assert_eq!(m.load(at, 1), 0);
    assert_eq!(m.str_at(at + 4), "naïve");
    assert_eq!((m.load(at + 12, 1), m.u32_at(at + 16), m.load(at + 20, 1)), (2, 1 << 20, 1));
    assert_eq!(m.load(at + 28, 1), 0b11); // header-hooks: both by default
    assert_eq!(lower_configure(&mut m, &Ok(FilterInfo::new("x"))).len(), 8); // 32 bytes
    for (info, bits) in [
        (FilterInfo::new("r").without_response_headers(), 0b01),
        (FilterInfo::new("s").without_request_headers(), 0b10),
        (FilterInfo::new("n").without_request_headers().without_response_headers(), 0),
        (FilterInfo::new("h").header_hooks(HeaderHooks::NONE), 0),
    ] {
        let at = { let w = lower_configure(&mut m, &Ok(info)); m.lend_words(w) };
        assert_eq!(m.load(at + 28, 1), bits);
    }
    let at = { let w = lower_configure(&mut m, &Err("bad config: ✗".into())); m.lend_words(w) };
    assert_eq!(m.load(at + 28, 1), 0);
    assert_eq!(m.load(at, 1), 1);
    assert_eq!(m.str_at(at + 4), "bad config: ✗");
}

#[test]
fn subrequest_layout() {
    let mut m = TestMem::new();
    let r = Subrequest::post("http://h/ü", "{}").header("a", "b").timeout_ms(250);
    let mut w = Vec::new();
    lower_subrequest(&mut m, &r, &mut w);
    lower_subrequest(&mut m, &Subrequest::get(""), &mut w);
    let at = m.lend_words(w);
    assert_eq!((m.str_at(at), m.str_at(at + 8)), ("POST".into(), "http://h/ü".into()));
    assert_eq!(m.headers_at(at + 16), vec![("a".into(), "b".into())]);
    assert_eq!((m.load(at + 24, 1), m.str_at(at + 28)), (1, "{}".into()));
    assert_eq!((m.load(at + 36, 1), m.u32_at(at + 40)), (1, 250));
    let e = at + 44; // second element
    assert_eq!((m.str_at(e), m.str_at(e + 8), m.u32_at(e + 20), m.load(e + 24, 1), m.load(e + 36, 1)), ("GET".into(), "".into(), 0, 0, 0));
}

#[test]
fn lifts_every_subresult_variant_and_frees_all() {
    let mut m = TestMem::new();
    let list = m.alloc(24 * 8, 4);
    let (hp, hn) = m.put_headers(&[("content-type", "application/json"), ("x-ü", "")]);
    let (bp, bn) = m.put(&[1, 2, 3]);
    for (k, v) in [(0, 0u32), (4, 200), (8, hp), (12, hn), (16, bp), (20, bn)] {
        m.store(list + k, v, if k == 0 { 1 } else if k == 4 { 2 } else { 4 });
    }
    for tag in 0..7u32 {
        let e = list + 24 * (tag + 1);
        m.store(e, 1, 1);
        m.store(e + 4, tag, 1);
        if matches!(tag, 2 | 5 | 6) {
            let (p, n) = m.put(format!("why-{}-é", tag).as_bytes());
            m.store(e + 8, p, 4);
            m.store(e + 12, n, 4);
        }
    }
    let v = lift_sub_results(&mut m, list, 8);
    assert_eq!(v[0], Ok(Subresponse { status: 200, headers: Headers(vec![("content-type".into(), "application/json".into()), ("x-ü".into(), "".into())]), body: vec![1, 2, 3] }));
    assert_eq!(v[1], Err(SubrequestError::Timeout));
    assert_eq!(v[2], Err(SubrequestError::TooLarge));
    assert_eq!(v[3], Err(SubrequestError::Denied("why-2-é".into())));
    assert_eq!(v[4], Err(SubrequestError::Overloaded));
    assert_eq!(v[5], Err(SubrequestError::Cancelled));
    assert_eq!(v[6], Err(SubrequestError::Connect("why-5-é".into())));
    assert_eq!(v[7], Err(SubrequestError::Protocol("why-6-é".into())));
    assert!(m.live.is_empty(), "leaked {:?}", m.live);
}

#[test]
fn lifts_hook_arguments() {
    let mut m = TestMem::new();
    let (ip, il) = m.put("req-ü".as_bytes());
    let (hp, hn) = m.put_headers(&(0..100).map(|_| ("k", "v")).collect::<Vec<_>>());
    let (mp, ml) = m.put(b"POST");
    let info = lift_info(&mut m, &[ip, il, 3, 1, 0]);
    assert_eq!(info, RequestInfo { request_id: "req-ü".into(), attempt: 3, route: "".into() });
    let head = lift_request_head(&mut m, &[mp, ml, 1, 0, 1, 0, hp, hn]);
    assert_eq!((head.method.as_str(), head.path.as_str(), head.headers.len()), ("POST", "", 100));
    assert_eq!(head.headers.get("K"), Some("v"));
    assert!(m.live.is_empty());
    let opt = m.alloc(12, 4);
    m.store(opt, 0, 1);
    assert_eq!(lift_opt_bytes(&mut m, opt), None);
    let (p, n) = m.put(b"PREFILL_COMPLETE");
    m.store(opt, 1, 1);
    m.store(opt + 4, p, 4);
    m.store(opt + 8, n, 4);
    assert_eq!(lift_opt_bytes(&mut m, opt), Some(b"PREFILL_COMPLETE".to_vec()));
    m.store(opt + 8, 0, 4);
    assert_eq!(lift_opt_bytes(&mut m, opt), Some(vec![]));
}

#[test]
fn headers_helper() {
    let mut h = Headers::new();
    h.add("X-A", "1");
    h.add("x-a", "2");
    h.add("b", "3");
    assert_eq!(h.get("x-A"), Some("1"));
    assert_eq!(h.get_all("x-a").collect::<Vec<_>>(), vec!["1", "2"]);
    h.set("x-a", "9");
    assert_eq!(h.0, vec![("b".into(), "3".into()), ("x-a".into(), "9".into())]);
    assert!(h.remove("B") && !h.remove("b"));
    let mut s = String::new();
    crate::push_u32(&mut s, 0);
    crate::push_u32(&mut s, 4294967295);
    assert_eq!(s, "04294967295");
}

#[test]
fn kv_error_every_case_from_its_layout() {
    use crate::keyvalue::{lift_error, KvError};
    let mut m = TestMem::new();
    let cases = [
        KvError::Unavailable("redis down".into()),
        KvError::Limit("too big ü".into()),
        KvError::Denied("".into()),
        KvError::Invalid("not an integer".into()),
    ];
    for (tag, case) in cases.iter().enumerate() {
        // kv-error (12 bytes): case @0, reason string @4, as the host writes it.
        let at = m.alloc(12, 4);
        let (p, n) = m.put(case.reason().as_bytes());
        m.store(at, tag as u32, 1);
        m.store(at + 4, p, 4);
        m.store(at + 8, n, 4);
        assert_eq!(&lift_error(&mut m, at), case);
    }
    assert!(m.live.iter().all(|(_, &(_, align))| align == 4), "every reason string was taken");
}
