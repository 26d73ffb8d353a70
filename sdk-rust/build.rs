//! Picks how the wasm build gets its panic handler (no dependencies, so no version crate):
//! - rustc >= 1.68: `#![no_std]` with the SDK's own `#[panic_handler]` (no core::fmt: ~5 KB less).
//! - older rustc (Debian's 1.63) needs an `#[alloc_error_handler]` for that, an unstable
//!   attribute: allowed when RUSTC_BOOTSTRAP names this crate (praxis-wasm's build sets
//!   `RUSTC_BOOTSTRAP=praxis_filter`); otherwise the SDK links std and uses std's panic hook.
use std::env;
use std::process::Command;

fn rustc_minor() -> Option<u32> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).arg("--version").output().ok()?;
    let v = String::from_utf8(out.stdout).ok()?;
    v.split_whitespace().nth(1)?.split('.').nth(1)?.parse().ok()
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_BOOTSTRAP");
    let minor = rustc_minor();
    if minor.map_or(false, |m| m >= 80) {
        println!("cargo:rustc-check-cfg=cfg(praxis_std, praxis_oom_handler)");
    }
    if env::var("CARGO_CFG_TARGET_ARCH").ok().as_deref() != Some("wasm32") {
        return; // native builds (cargo test) always link std
    }
    if minor.map_or(true, |m| m >= 68) {
        return;
    }
    let bootstrap = env::var("RUSTC_BOOTSTRAP").unwrap_or_default();
    if bootstrap == "1" || bootstrap.split(',').any(|c| c == "praxis_filter") {
        println!("cargo:rustc-cfg=praxis_oom_handler");
    } else {
        println!("cargo:rustc-cfg=praxis_std");
        println!("cargo:warning=rustc < 1.68 without RUSTC_BOOTSTRAP=praxis_filter: linking std for its panic handler (~5 KB more wasm)");
    }
}
