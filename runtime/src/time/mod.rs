//! Time: sleeping, timeouts and intervals, with tokio's names and
//! semantics.
//!
//! - [`sleep`] / [`sleep_until`]: a future that completes at a deadline
//!   ([`Sleep`], resettable with [`Sleep::reset`]);
//! - [`timeout`] / [`timeout_at`]: bound another future by a deadline
//!   ([`Timeout`], failing with [`error::Elapsed`]);
//! - [`interval`] / [`interval_at`]: periodic ticks ([`Interval`]) with a
//!   configurable [`MissedTickBehavior`];
//! - [`Instant`]: the clock these deadlines are measured on;
//! - [`pause`], [`resume`], [`advance`]: the paused test clock of a
//!   current-thread runtime (also `Builder::start_paused` and
//!   `#[runtime::test(start_paused = true)]`), with auto-advance.
//!
//! Timers are driven by the process-wide reactor, not by a runtime: they
//! work on any thread, under either scheduler flavor and under foreign
//! executors, and a timer created on one thread may be awaited on another.
//! The exception is the paused clock: a runtime whose time is paused keeps
//! its own virtual time and timers, invisible to the other runtimes of the
//! process (see [`pause`]; the design is written down in `time/clock.rs`).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use runtime::time::{interval, sleep, timeout, Instant};
//!
//! # runtime::Runtime::new().unwrap().block_on(async {
//! let start = Instant::now();
//! sleep(Duration::from_millis(3)).await;
//! assert!(start.elapsed() >= Duration::from_millis(3));
//!
//! let slow = sleep(Duration::from_secs(3600));
//! assert!(timeout(Duration::from_millis(3), slow).await.is_err());
//!
//! let mut ticks = interval(Duration::from_millis(1));
//! for _ in 0..3 {
//!     ticks.tick().await;
//! }
//! # });
//! ```
//!
//! # Implementation
//!
//! A hierarchical timing wheel in the reactor (6 levels of 64 slots, 1 ms
//! per tick; G. Varghese and T. Lauck, "Hashed and Hierarchical Timing
//! Wheels", SOSP 1987). The reactor waits no longer than the next deadline
//! and fires due timers after dispatching I/O, waking their tasks outside
//! its locks.
//!
//! - **Resolution**: 1 ms. A deadline is rounded *up* to the next tick, so
//!   a sleep never completes early; a sub-millisecond sleep lasts about a
//!   millisecond and does not make the reactor spin.
//! - **Memory**: a timer costs no allocation. Its entry lives inside the
//!   [`Sleep`] (which is why it is `!Unpin`) and is linked into the wheel in
//!   place on first poll; dropping an unfired `Sleep` unlinks it in O(1).
//!   `Timeout` embeds a `Sleep`; `Interval` boxes its one `Sleep` once.
//! - **Cost of a timeout that does not fire** (the common case in
//!   servers): nothing if the future is ready on first poll (the timer is
//!   never registered), otherwise one insert and one O(1) removal, each
//!   under a short, uncontended-in-the-common-case lock.

mod clock;
pub mod error;
mod instant;
mod interval;
mod sleep;
mod timeout;

pub use clock::{advance, pause, resume};
pub(crate) use clock::{Clock, Idle};
pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
/// `std::time::Duration`, re-exported (as tokio does) so that
/// `use runtime::time::Duration` works.
pub use std::time::Duration;
pub use timeout::{timeout, timeout_at, Timeout};
