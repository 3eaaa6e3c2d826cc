#!/usr/bin/env bash
# Loom models of the lock-free parts: readiness vs waker registration
# (reactor), the task state word, the local run queue, the LIFO slot and
# the parker (runtime). Bounded with LOOM_MAX_PREEMPTIONS=2.
set -euo pipefail
cd "$(dirname "$0")/.."
printf '\n=== loom ===\n'
RUSTFLAGS="--cfg runtime_loom" CARGO_TARGET_DIR=target/loom LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}" \
    cargo test --release -p runtime-reactor -p runtime --lib loom
