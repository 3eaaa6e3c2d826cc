//! Shared helpers for the integration tests.
//!
//! Everything is re-exported here, so a test names a helper as
//! `runtime_tests::block_on` whatever module it lives in:
//!
//! - `flavor`: [`Flavor`] and [`flavor_tests!`] run one test body on each
//!   scheduler; [`block_on`] runs a future under a [`Watchdog`], a hang
//!   guard that aborts the test binary if a test runs far longer than any
//!   healthy run could; it is never a pass criterion.
//! - `net`: [`echo_server`], [`connected_pair`], [`closed_port_addr`]:
//!   loopback sockets on 127.0.0.1; [`set_linger_zero`],
//!   [`set_socket_option`], [`restore_default_sigpipe`].
//! - `bytes`: [`pattern`] and [`assert_bytes_eq`]: pseudo-random payloads
//!   and a comparison that reports the first differing offset instead of
//!   printing megabytes; [`write_all_vectored`].
//! - `probes`: [`WakeCounter`], [`DropCounter`], [`PollCounter`],
//!   [`panic_message`]: small probes for wake-ups, drops, polls and panic
//!   payloads.
//! - `wait`: [`yield_until`], [`sleep_blocking`], [`note_pending`]: waiting
//!   in a task without the runtime's timers, and noticing it has parked.
//! - `leaks`: [`open_fd_count`], [`registration_count`], [`settle`],
//!   [`settle_async`], [`serial`]: descriptor and registration counts, and
//!   waiting for them to come back.
//! - `cpu`: [`CpuMeter`], [`assert_idle`], [`process_cpu_time`]: CPU time
//!   against wall time, to tell "parked" from "spinning".
//! - `process`: [`TempDir`], [`run_in_child`], [`child_case`]: a temporary
//!   directory, and a child process for checks that would take the test
//!   process down.

mod bytes;
mod cpu;
mod flavor;
mod leaks;
mod net;
mod probes;
mod process;
mod wait;

pub use bytes::{assert_bytes_eq, pattern, write_all_vectored};
pub use cpu::{assert_idle, process_cpu_time, CpuMeter, CpuUsage};
pub use flavor::{block_on, block_on_with_limit, Flavor, Watchdog, HANG_LIMIT};
pub use leaks::{open_fd_count, registration_count, serial, settle, settle_async};
pub use net::{
    closed_port_addr, connected_pair, echo_server, restore_default_sigpipe, set_linger_zero,
    set_socket_option, EchoStats,
};
pub use probes::{panic_message, DropCounter, DropGuard, PollCounter, WakeCounter};
pub use process::{child_case, run_in_child, TempDir, CHILD_CASE_ENV};
pub use wait::{note_pending, sleep_blocking, yield_until};

/// The Rust code blocks of `PORTING.md` and `README.md`, compiled as this
/// crate's doctests so the guides' examples keep building.
#[cfg(doctest)]
#[doc = include_str!("../../PORTING.md")]
#[doc = include_str!("../../README.md")]
pub struct Guides;
