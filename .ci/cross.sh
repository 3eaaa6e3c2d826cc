#!/usr/bin/env bash
# Builds and lints the kqueue backend (and everything above it) for FreeBSD
# and macOS. Nothing runs: these are compile-time checks of the other
# backend, its FFI layout assertions included.
set -euo pipefail
cd "$(dirname "$0")/.."
for target in x86_64-unknown-freebsd x86_64-apple-darwin; do
    printf '\n=== cross: %s ===\n' "$target"
    cargo check -p runtime-reactor -p runtime-net -p runtime --target "$target"
    cargo clippy -p runtime-reactor -p runtime-net -p runtime --target "$target" -- -D warnings
done
