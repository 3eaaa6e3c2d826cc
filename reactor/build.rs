//! Chooses the poller backend: the one place that maps a target to epoll or
//! kqueue. Everything else tests the cfg this emits.
//!
//! - `runtime_kqueue`: macOS, iOS, FreeBSD, OpenBSD and DragonFly, and Linux
//!   under the developer cfg `runtime_libkqueue` (kqueue through libkqueue,
//!   which is then linked; see DEVELOPERS.md).
//! - `runtime_epoll`: Linux and Android otherwise.
//! - Neither: the target is unsupported, and `sys/mod.rs` stops the build
//!   with a `compile_error!` naming the supported ones.

use std::env;

/// The targets whose own kernel has kqueue, with a `struct kevent` layout in
/// `src/sys/kqueue/ffi.rs`.
const KQUEUE_OSES: &[&str] = &["macos", "ios", "freebsd", "openbsd", "dragonfly"];
/// The targets with epoll.
const EPOLL_OSES: &[&str] = &["linux", "android"];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(runtime_epoll)");
    println!("cargo::rustc-check-cfg=cfg(runtime_kqueue)");
    println!("cargo::rerun-if-changed=build.rs");

    // Cargo describes the target (not the host) in these variables, custom
    // `--cfg`s from RUSTFLAGS included.
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let libkqueue = env::var_os("CARGO_CFG_RUNTIME_LIBKQUEUE").is_some();

    if KQUEUE_OSES.contains(&os.as_str()) {
        println!("cargo::rustc-cfg=runtime_kqueue");
    } else if libkqueue && os == "linux" {
        println!("cargo::rustc-cfg=runtime_kqueue");
        println!("cargo::rustc-link-lib=dylib=kqueue");
    } else if EPOLL_OSES.contains(&os.as_str()) {
        println!("cargo::rustc-cfg=runtime_epoll");
    }
}
