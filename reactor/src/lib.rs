//! The reactor of `runtime`: it turns OS readiness (epoll on Linux, kqueue on
//! the BSDs and macOS) into wake-ups of the tasks waiting for it, and fires
//! timers.
//!
//! This crate knows nothing of tasks or schedulers: it stores
//! [`Waker`](std::task::Waker)s and calls `wake()`. Sockets are built on it by
//! `runtime-net`; users normally reach it only through `runtime`.
//!
//! # Examples
//!
//! ```
//! use std::os::fd::AsRawFd;
//! use runtime_reactor::{Direction, Reactor};
//!
//! # fn main() -> std::io::Result<()> {
//! let (a, b) = std::os::unix::net::UnixStream::pair()?;
//! a.set_nonblocking(true)?;
//! let reg = Reactor::get()?.register(a.as_raw_fd())?;
//! // The reactor thread reports the new socket writable soon after.
//! let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! while reg.poll_ready(&mut cx, Direction::Write).is_pending() {
//!     std::thread::yield_now();
//! }
//! drop(reg); // deregister before closing
//! drop((a, b));
//! # Ok(()) }
//! ```
//!
//! # Implementation
//!
//! - One reactor per process ([`Reactor::get`]), driven by its own thread
//!   through [`Reactor::turn`], the single entry point; another thread may
//!   drive it with [`Reactor::try_turn`].
//! - Each fd is registered once, edge-triggered, for both directions. Its
//!   state lives in a slab slot; the token handed to the kernel packs the slot
//!   index (low 32 bits) and a generation (high 32 bits), and an event whose
//!   generation does not match the slot's is dropped, so a closed and reused
//!   slot never sees its predecessor's events.
//! - Per registration: readiness bits with one tick per direction, and one
//!   waker per direction. The reactor sets readiness and then takes the
//!   wakers; a task stores its waker and then re-checks readiness, under the
//!   same lock, so no wake-up is lost. Readiness is cleared only by an
//!   operation that saw `WouldBlock`, and only if its direction's tick has
//!   not moved since the caller observed it.
//! - Wakers are called outside every reactor lock, each under
//!   `catch_unwind`, so a panicking waker cannot take the reactor down.
//! - The cooperative budget ([`coop`]) lives here, the lowest layer that both
//!   the scheduler and the I/O types share.
//! - Timers: a hierarchical timing wheel (6 levels of 64 slots, 1 ms ticks;
//!   Varghese and Lauck, "Hashed and Hierarchical Timing Wheels", SOSP 1987)
//!   driven by the same `turn`: the wait timeout is the next deadline
//!   (rounded up, never down), and due timers are fired after I/O is
//!   dispatched, their wakers called outside the wheel lock. A
//!   [`TimerEntry`] is intrusive: it lives inside the pinned future that
//!   waits for it, costs no allocation, and unlinks itself in O(1) when
//!   dropped.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod coop;
mod driver;
mod interest;
#[doc(hidden)]
pub mod linked_list;
mod ready;
mod registration;
mod scheduled_io;
#[doc(hidden)]
pub mod sync;
mod sys;
mod time;

pub use driver::{PollerGuard, Reactor, STALL_GUARD};
pub use interest::Interest;
pub use ready::{Direction, Ready};
pub use registration::Registration;
pub use scheduled_io::{ReadyEvent, ReadyEvents};
pub use time::entry::TimerEntry;
