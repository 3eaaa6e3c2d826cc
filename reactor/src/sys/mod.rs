//! Every system call of the reactor lives under this module.
//!
//! # Backend contract
//!
//! Exactly one backend is compiled, chosen by the crate's `build.rs` (the one
//! place that maps a target to a backend: it emits `runtime_epoll` or
//! `runtime_kqueue`, which the `cfg` site below reads). Each backend is
//! self-contained and provides:
//!
//! - `Poller::new() -> io::Result<Poller>`: a new kernel queue (close-on-exec)
//!   with its wake-up source already registered.
//! - `Poller::register(&self, fd, token: u64) -> io::Result<()>`: watch `fd` for
//!   reading *and* writing, edge-triggered (epoll: `EPOLLIN | EPOLLOUT |
//!   EPOLLRDHUP | EPOLLET`; kqueue: `EVFILT_READ` and `EVFILT_WRITE` with
//!   `EV_CLEAR`), reporting `token` with every event. Each fd is registered once.
//!   A second `register` of an fd that is registered already fails with
//!   `EEXIST` and leaves the first registration untouched.
//! - `Poller::deregister(&self, fd, token: u64) -> io::Result<()>`: stop watching
//!   `fd`, registered with `token`. Must be called before the fd is closed.
//! - `Poller::wait(&self, events: &mut Events, timeout: Option<Duration>) ->
//!   io::Result<()>`: block until at least one event, a wake-up or the timeout;
//!   `None` waits forever. A wait interrupted by a signal (`EINTR`) is resumed
//!   with the time that remains ([`WaitTimeout`]), never with the full timeout
//!   again, and returns with no events once none remains: signals arriving
//!   faster than the timeout must not stall the timers. A timeout is never
//!   rounded down: a sub-millisecond timeout waits at least that long, never
//!   zero (no busy loop). Wake-up events are consumed inside the backend and
//!   never reported.
//! - `Poller::notify(&self) -> io::Result<()>`: make a concurrent or the next
//!   `wait` return (eventfd on Linux, `EVFILT_USER` on kqueue).
//! - `Events::with_capacity(n)`, `Events::iter(&self) -> impl Iterator<Item = Event>`.
//!
//! The translation from kernel events to [`Ready`] bits is part of each backend:
//! hang-up and error conditions mark both directions so the next operation
//! reports the error or EOF; a peer's half-close (`EPOLLRDHUP`) marks only
//! `READ_CLOSED`, never `WRITE_CLOSED`.

use std::time::{Duration, Instant};

use crate::Ready;

/// One readiness event, already translated into platform-free terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    /// The token passed at registration.
    pub(crate) token: u64,
    /// What became ready.
    pub(crate) ready: Ready,
}

/// Calls the `libc` function `$fn` and turns a negative return into
/// `io::Error::last_os_error()`; any other value is `Ok`.
///
/// The one such helper of the workspace: `runtime-net` calls it as
/// `runtime_reactor::syscall!`. Not part of the API.
#[doc(hidden)]
#[macro_export]
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        #[allow(unused_unsafe)]
        // SAFETY: the caller of `syscall!` upholds the contract of the named
        // libc function for the arguments it passes (valid fds, pointers to
        // live buffers of the stated lengths).
        let res = unsafe { $crate::__libc::$fn($($arg),*) };
        if res < 0 {
            Err(::std::io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

/// The timeout of one `Poller::wait`, kept across the retries after `EINTR`
/// so that each retry waits only for what remains.
///
/// The clock is read only for a finite, non-zero timeout: a zero timeout
/// never sleeps and `None` has no end, so neither needs a start.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WaitTimeout {
    /// What the caller asked for; `None` is forever.
    timeout: Option<Duration>,
    /// When the wait began, for a finite non-zero `timeout` only.
    start: Option<Instant>,
}

impl WaitTimeout {
    /// Starts the clock of a wait of `timeout` (`None`: forever).
    pub(crate) fn start(timeout: Option<Duration>) -> WaitTimeout {
        let start = timeout.filter(|t| !t.is_zero()).map(|_| Instant::now());
        WaitTimeout { timeout, start }
    }

    /// What the first wait uses: the whole timeout.
    pub(crate) fn full(&self) -> Option<Duration> {
        self.timeout
    }

    /// The time that remains after an interrupted wait: `None` for a wait
    /// forever, `Some(Duration::ZERO)` once the timeout has passed (the
    /// caller then returns with no events instead of waiting again).
    pub(crate) fn left(&self) -> Option<Duration> {
        match (self.timeout, self.start) {
            (Some(t), Some(start)) => Some(t.saturating_sub(start.elapsed())),
            (t, _) => t,
        }
    }
}

// The backend is chosen once, in `build.rs`, which emits `runtime_epoll` or
// `runtime_kqueue` (or neither, for a target that has no backend).
#[cfg(runtime_epoll)]
mod epoll;
#[cfg(runtime_epoll)]
pub(crate) use epoll::{Events, Poller};

#[cfg(runtime_kqueue)]
mod kqueue;
#[cfg(runtime_kqueue)]
pub(crate) use kqueue::{Events, Poller};

#[cfg(not(any(runtime_epoll, runtime_kqueue)))]
compile_error!(
    "runtime supports Linux and Android (epoll) and macOS, iOS, FreeBSD, OpenBSD and \
     DragonFly (kqueue) only; this target has neither"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_wait_resumes_with_what_remains() {
        assert_eq!(WaitTimeout::start(None).left(), None);
        let zero = WaitTimeout::start(Some(Duration::ZERO));
        assert_eq!(zero.left(), Some(Duration::ZERO));
        let t = Duration::from_millis(40);
        let wait = WaitTimeout::start(Some(t));
        assert_eq!(wait.full(), Some(t));
        std::thread::sleep(Duration::from_millis(5));
        let left = wait.left().unwrap();
        assert!(left <= t - Duration::from_millis(5), "{left:?}");
        std::thread::sleep(t);
        assert_eq!(wait.left(), Some(Duration::ZERO), "never below zero");
    }
}
