#!/usr/bin/env bash
# tokio-console end to end: `console/` is a workspace of its own (its
# console-subscriber pulls tonic, prost and tokio, and needs the cfg in
# `console/.cargo/config.toml`), so `cargo test --workspace` never builds
# it. Its one test starts `examples/console.rs` and reads the task list over
# console-subscriber's gRPC API. A clean build of it takes 45 to 95 s on a
# 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/../console"
printf '\n=== console (tokio-console end to end) ===\n'
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test
