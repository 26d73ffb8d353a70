#!/bin/sh
# Installs Debian's Rust with the wasm32-unknown-unknown standard library, once: CI calls this
# before `npm ci` (whose prepare step builds the Rust plugins). rustup cannot fetch targets there.
set -eu
if [ -d /usr/lib/rustlib/wasm32-unknown-unknown ] && [ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] && command -v wasm-ld >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update
$SUDO apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld
