#!/usr/bin/env bash
# Miri over the task and queue unit tests, and over the kqueue translation
# functions for both kqueue targets (pure code: Miri interprets it for a
# foreign target on this host).
set -euo pipefail
cd "$(dirname "$0")/.."
printf '\n=== miri ===\n'
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    # A nightly without the component (the common case), else no nightly.
    rustup component add --toolchain nightly miri rust-src ||
        rustup toolchain install nightly --profile minimal --component miri,rust-src || true
fi
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    echo "miri: SKIPPED: no nightly toolchain with miri could be installed on this machine"
    exit 0
fi
export CARGO_TARGET_DIR=target/miri
cargo +nightly miri setup
cargo +nightly miri test -p runtime --lib -- task:: scheduler::multi_thread::queue sync::batch_semaphore::tests
# The task code with its `tracing` instrumentation compiled in (spans in the
# cell, waker events): the unit tests that drive it through a subscriber.
cargo +nightly miri test -p runtime --lib --features tracing -- task::tests::trace
cargo +nightly miri test -p runtime-reactor --lib -- scheduled_io time::wheel time::tests::register time::tests::reset \
    time::tests::a_new time::tests::many time::tests::ticks
for target in x86_64-unknown-freebsd x86_64-apple-darwin; do
    cargo +nightly miri setup --target "$target"
    cargo +nightly miri test -p runtime-reactor --lib --target "$target" -- sys::
done
