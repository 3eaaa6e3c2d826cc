//! Benchmarks of `runtime` side by side with tokio and smol.
//!
//! The binaries (`sched`, `timers`, `compare`, …) share what lives here:
//!
//! - [`rt`]: one small trait, [`rt::BenchRuntime`], over "build with N
//!   workers, spawn, block on, yield" and the runtime's timer API (sleep,
//!   timeout, interval), implemented for `runtime`, tokio and smol, so
//!   every case runs the very same code on each runtime;
//! - [`chan`]: a countdown latch and a one-slot mailbox built on `std` and
//!   [`Waker`](std::task::Waker) alone, so that the synchronisation a case
//!   needs costs the same under every runtime and is not what is measured;
//! - [`stats`]: wall and CPU time of a closure, medians;
//! - [`report`]: duration and ratio formatting, markdown tables;
//! - [`sync_locks`]: `runtime::sync`'s locks and `Notify` against tokio's
//!   and `async-lock`;
//! - [`args`]: a tiny command-line flag parser;
//! - [`sched`]: the scheduler micro-benchmark cases;
//! - [`timers`]: the timer benchmark cases;
//! - [`sync_chan`]: the channel benchmark cases (`runtime::sync` against
//!   `tokio::sync`);
//! - [`micro`]: what those two case sets share, and the in-process driver
//!   of the `sched` and `timers` binaries;
//! - for `compare`: [`contender`] (the runtime set-ups and their echo
//!   and HTTP servers), [`raw_epoll`] (the echo server with no runtime at
//!   all, the limit every runtime is measured against), [`hyper_hello`]
//!   (hyper 1.x's server, one handler on `runtime` and on tokio),
//!   [`proxy`] (a TCP proxy on each runtime's `copy_bidirectional`),
//!   [`loadgen`] (the load generator, which belongs to no runtime under
//!   test), [`hist`] (a latency histogram), [`procfs`] (CPU
//!   and memory of a server process) and [`svg`] (the ratio chart).
//!
//! Absolute figures on shared machines are noise; the binaries therefore run
//! all runtimes in one process, alternating them round by round, and report
//! ratios of medians.

pub mod args;
pub mod chan;
pub mod contender;
pub mod hist;
pub mod hyper_hello;
pub mod loadgen;
pub mod micro;
pub mod procfs;
pub mod proxy;
pub mod raw_epoll;
pub mod report;
pub mod rt;
pub mod sched;
pub mod stats;
pub mod svg;
pub mod sync_chan;
pub mod sync_locks;
pub mod timers;
