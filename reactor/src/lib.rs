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
//! use std::os::fd::AsFd;
//! use runtime_reactor::{Direction, Reactor};
//!
//! # fn main() -> std::io::Result<()> {
//! let (a, b) = std::os::unix::net::UnixStream::pair()?;
//! a.set_nonblocking(true)?;
//! // SAFETY: `a` outlives `reg`, which is dropped first.
//! let reg = unsafe { Reactor::get()?.register(a.as_fd())? };
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
//! - One reactor per process ([`Reactor::get`]). Its surface is small:
//!   [`Reactor::register`], the reactor lock ([`Reactor::lock`],
//!   [`Reactor::try_lock`]) whose guard turns it once
//!   ([`ReactorLock::turn`]), and [`Reactor::wake`]. Who turns it, and when
//!   (its own thread, idle scheduler threads, the hand-off between them),
//!   is the policy of [`drive`], with its protocol written down there.
//! - Each fd is registered once, edge-triggered, for both directions. Its
//!   state lives in a slab slot; the token handed to the kernel packs the slot
//!   index (low 32 bits) and a generation (high 32 bits), and an event whose
//!   generation does not match the slot's is dropped, so a closed and reused
//!   slot never sees its predecessor's events.
//! - Per registration: readiness bits with one tick per direction, one fast
//!   waker slot per direction for the `poll_*` methods, and an intrusive list
//!   of waiting futures, so any number of tasks may wait on one socket. The
//!   reactor sets readiness and then takes the wakers; a task stores its
//!   waker and then re-checks readiness, under the same lock, so no wake-up
//!   is lost. Readiness is cleared by an operation that saw `WouldBlock`
//!   (or, on stream sockets, a short transfer), and only if its direction's
//!   tick has not moved since the caller observed it.
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
pub mod drive;
mod driver;
mod interest;
#[doc(hidden)]
pub mod linked_list;
mod ready;
mod registration;
mod scheduled_io;
#[doc(hidden)]
pub mod sync;
// Under loom the reactor waits on `drive::model`'s poller instead.
#[cfg_attr(runtime_loom, allow(dead_code, unused_imports))]
mod sys;
mod time;

pub use driver::{Reactor, ReactorLock};
pub use interest::Interest;
pub use ready::{Direction, Ready};
pub use registration::Registration;
pub use scheduled_io::{ReadyEvent, ReadyEvents};
pub use time::entry::TimerEntry;

/// The `libc` that the exported `syscall!` calls into, so that it expands
/// to the same functions in every crate that uses it. Not part of the API.
#[doc(hidden)]
pub use libc as __libc;
