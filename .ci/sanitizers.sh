#!/usr/bin/env bash
# Sanitizers, leak checks and the soak, each bounded so that the whole of
# `.ci/run` stays under 45 minutes on 2 cores:
#
# - AddressSanitizer (with LeakSanitizer) over the unit and integration
#   tests of runtime, runtime-reactor, runtime-net and runtime-tests
#   (nightly, `-Zbuild-std` so std is instrumented too), in its own target
#   dir. The trybuild compile-fail test is skipped: it runs rustc itself,
#   and would do so under the sanitizer flags.
# - ThreadSanitizer over the runtime and reactor unit tests and the
#   integration tests of the scheduler, tasks, registrations, deregistration
#   races, panics, shutdown and timers. No suppressions are needed today (parking_lot and
#   crossbeam-queue are instrumented through `-Zbuild-std` and showed no
#   false positives); if one is ever needed, add it to a suppressions file
#   here with the reason, and pass it in TSAN_OPTIONS.
# - valgrind memcheck over the release `hello_tcp` example. Memory errors
#   and "definitely" or "indirectly" lost blocks fail it; "still reachable"
#   (the process-wide reactor, its thread and statics, alive at exit by
#   design) and "possibly lost" (the stacks and TLS of threads still running
#   at exit) do not.
# - The soak: 1,000 connections with random sizes, half-closes and resets
#   for SOAK_SECONDS (default 30), every byte checksummed, fds and
#   registrations back to their baseline.
#
# Measured on the 2-core dev machine (shared, so noisy), cold target dirs:
# ASan about 5 min (build and run), TSan about 3 min, valgrind 6 s plus a
# 15 s release build, the soak 30 s plus its release build. The soak and
# valgrind run under `timeout` as hang guards. Without a nightly
# toolchain (with rust-src) the sanitizer steps print SKIPPED, as miri does;
# without valgrind (and no way to install it) so does that step.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST=x86_64-unknown-linux-gnu
SOAK_SECONDS="${SOAK_SECONDS:-30}"

step() { printf '\n=== %s ===\n' "$*"; }
# Runs a command and prints how long it took.
timed() {
    local start=$SECONDS
    "$@"
    printf '(%d s)\n' $((SECONDS - start))
}

have_nightly_src() {
    cargo +nightly --version >/dev/null 2>&1 &&
        rustup +nightly component list --installed 2>/dev/null | grep -q '^rust-src'
}

sanitizers_available=true
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "sanitizers: SKIPPED: only run on x86_64 Linux"
    sanitizers_available=false
elif ! have_nightly_src; then
    rustup toolchain install nightly --profile minimal --component rust-src || true
    if ! have_nightly_src; then
        echo "sanitizers: SKIPPED: no nightly toolchain with rust-src could be installed"
        sanitizers_available=false
    fi
fi

if $sanitizers_available; then
    step "AddressSanitizer: the test suite"
    mkdir -p target/asan
    # LeakSanitizer suppressions, each with its reason:
    # - runtime_reactor::time::tests: two unit tests build a private
    #   `&'static Reactor` with `Box::leak` on purpose (the timer API wants
    #   a static reactor); the leaked reactor and its buffers are reported
    #   as lost when the test ends. Test-only, not runtime code.
    cat >target/asan/lsan.supp <<'SUPP'
leak:runtime_reactor::time::tests::
SUPP
    # --no-fail-fast: a failing test binary must not hide a sanitizer
    # report from the ones after it.
    timed env RUSTFLAGS="-Zsanitizer=address" CARGO_TARGET_DIR=target/asan \
        ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
        LSAN_OPTIONS="suppressions=$PWD/target/asan/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
        cargo +nightly test -Zbuild-std --target "$HOST" --no-fail-fast \
        -p runtime -p runtime-reactor -p runtime-net -p runtime-tests --tests \
        -- --skip macros_compile_fail
    # The instrumented std and test binaries take GiBs; nothing after this
    # step reuses them.
    rm -rf target/asan

    step "ThreadSanitizer: scheduler and reactor"
    tsan() {
        env RUSTFLAGS="-Zsanitizer=thread" CARGO_TARGET_DIR=target/tsan \
            TSAN_OPTIONS="second_deadlock_stack=1${TSAN_OPTIONS:+ $TSAN_OPTIONS}" \
            cargo +nightly test -Zbuild-std --target "$HOST" --no-fail-fast "$@"
    }
    # Without the SIGCHLD test of `process`: TSan runs a signal's handler
    # only once the receiving thread enters one of its interceptors, and
    # here every thread waits in a raw system call (`epoll_wait`,
    # parking_lot's `futex`), so the handler never ran and the test hung
    # with its children exited and unreaped. It runs in the plain and ASan
    # suites.
    timed tsan -p runtime -p runtime-reactor --lib -- --skip process::tests
    timed tsan -p runtime-tests --test rt_scheduler --test rt_tasks --test tcp_fd_reuse \
        --test adv_deregister --test adv_panics --test adv_shutdown --test time_sleep \
        --test net_shared_waiters
    rm -rf target/tsan
fi

step "valgrind: hello_tcp"
if ! command -v valgrind >/dev/null 2>&1; then
    (apt-get install -y valgrind || sudo apt-get install -y valgrind) >/dev/null 2>&1 || true
fi
if command -v valgrind >/dev/null 2>&1; then
    cargo build --release -p runtime --example hello_tcp
    timed timeout 600 valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=1 \
        target/release/examples/hello_tcp
else
    echo "valgrind: SKIPPED: valgrind is not installed and could not be installed"
fi

step "soak: ${SOAK_SECONDS} s"
cargo build --release -p runtime-tests --bin soak
timed timeout $((SOAK_SECONDS + 300)) target/release/soak --seconds "$SOAK_SECONDS"
