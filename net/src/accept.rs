//! The accept loop shared by [`TcpListener`](crate::TcpListener) and
//! [`UnixListener`](crate::UnixListener): what each `accept(2)` error means
//! and the back-off after resource exhaustion.
//!
//! # Behaviour
//!
//! - `ECONNABORTED`, `ECONNRESET` and `EPROTO`: a connection in the backlog
//!   died before it was accepted. It is skipped and the next one accepted;
//!   the caller never sees the error.
//! - `EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`: the process (or system) is out
//!   of file descriptors or memory. The connection stays in the backlog, so
//!   the listener stays readable; retrying at once would spin at 100 % CPU
//!   until something is freed. Instead the error is returned to the caller
//!   (who may log it, shed load or free fds), and the listener's *next*
//!   `accept` first waits: 1 ms after the first failure, doubling with each
//!   consecutive one up to 1 s. A successful accept resets the delay.
//! - Everything else is returned as it is.

use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, MutexGuard};
use runtime_reactor::{Direction, TimerEntry};

use crate::poll_evented::PollEvented;
use crate::sys::{self, RawAddr};

/// The first back-off after an exhaustion error.
pub(crate) const MIN_BACKOFF: Duration = Duration::from_millis(1);
/// The longest back-off.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What the accept loop does with an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorAction {
    /// A pending connection died: skip it and accept the next.
    Skip,
    /// Out of fds or memory: return the error, back off before the next try.
    BackOff,
    /// Return the error.
    Return,
}

/// Classifies an error of `accept(2)` (or of registering the new socket).
pub(crate) fn classify(e: &io::Error) -> ErrorAction {
    match e.raw_os_error() {
        Some(libc::ECONNABORTED | libc::ECONNRESET | libc::EPROTO) => ErrorAction::Skip,
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => ErrorAction::BackOff,
        _ => ErrorAction::Return,
    }
}

/// The back-off state of one listener.
#[derive(Debug)]
pub(crate) struct Backoff {
    /// Whether a back-off sequence is in progress (from the first
    /// exhaustion error to the next successful accept): lets the common path
    /// skip the lock.
    active: AtomicBool,
    state: Mutex<BackoffState>,
}

#[derive(Debug)]
struct BackoffState {
    /// No accept before this instant.
    until: Option<Instant>,
    /// The delay to use after the next exhaustion error.
    next: Duration,
    /// The reactor timer that wakes the accepting task at `until` (one
    /// allocation per back-off episode, a rare path).
    timer: Option<Pin<Box<TimerEntry>>>,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff {
            active: AtomicBool::new(false),
            state: Mutex::new(BackoffState {
                until: None,
                next: MIN_BACKOFF,
                timer: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BackoffState> {
        self.state.lock()
    }

    /// The end of the back-off in force, if any; `None` once it has passed
    /// (the sequence itself stays active until an accept succeeds, which
    /// resets the delay; another failure before that doubles it).
    fn deadline(&self, state: &mut BackoffState) -> Option<Instant> {
        let until = state.until?;
        if Instant::now() >= until {
            state.until = None;
            state.timer = None;
            return None;
        }
        Some(until)
    }

    /// `Ready` if no back-off is in force; otherwise arranges for the task to
    /// be woken when it ends and returns `Pending`. One task at a time: the
    /// listener's one timer keeps one waker (the `poll_accept` contract).
    fn poll_wait(&self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.active.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        let mut state = self.lock();
        let Some(until) = self.deadline(&mut state) else {
            return Poll::Ready(());
        };
        let timer = state
            .timer
            .get_or_insert_with(|| Box::pin(TimerEntry::new(until)));
        if timer.deadline() != until {
            timer.as_mut().reset(until);
        }
        if timer.as_mut().poll_elapsed(cx).is_ready() {
            state.until = None;
            state.timer = None;
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Waits until no back-off is in force, on a timer of the caller's own,
    /// so that any number of tasks accepting on one listener all wake when
    /// it ends.
    async fn wait(&self) {
        while self.active.load(Ordering::Acquire) {
            let Some(until) = self.deadline(&mut self.lock()) else {
                return;
            };
            let mut timer = pin!(TimerEntry::new(until));
            poll_fn(|cx| timer.as_mut().poll_elapsed(cx)).await;
        }
    }

    /// Starts (or lengthens) a back-off after an exhaustion error.
    fn exhausted(&self) {
        let mut state = self.lock();
        state.until = Some(Instant::now() + state.next);
        state.next = (state.next * 2).min(MAX_BACKOFF);
        self.active.store(true, Ordering::Release);
    }

    /// Ends the back-off sequence after a successful accept.
    fn succeeded(&self) {
        if self.active.load(Ordering::Acquire) {
            let mut state = self.lock();
            state.next = MIN_BACKOFF;
            state.until = None;
            state.timer = None;
            self.active.store(false, Ordering::Release);
        }
    }
}

/// What an accepted connection, or the error of an attempt, means for the
/// accept loop: `None` to try again at once (a connection that died in the
/// backlog), else the result to return.
fn outcome<R>(backoff: &Backoff, res: io::Result<R>) -> Option<io::Result<R>> {
    match res {
        Ok(r) => {
            backoff.succeeded();
            Some(Ok(r))
        }
        Err(e) => match classify(&e) {
            ErrorAction::Skip => None,
            ErrorAction::BackOff => {
                backoff.exhausted();
                Some(Err(e))
            }
            ErrorAction::Return => Some(Err(e)),
        },
    }
}

/// Accepts on `listener` under the rules in the module docs, waiting in the
/// listener's waiter list, so that any number of tasks may accept on one
/// shared listener (each connection goes to one of them); then turns the new
/// fd into the caller's type with `finish`, as [`poll_accept`] does.
pub(crate) async fn accept<T: AsRawFd, R>(
    listener: &PollEvented<T>,
    backoff: &Backoff,
    mut finish: impl FnMut(OwnedFd, RawAddr) -> io::Result<R>,
) -> io::Result<R> {
    loop {
        backoff.wait().await;
        let res = listener
            .async_io(Direction::Read, |l| sys::accept(l.as_raw_fd()))
            .await
            .and_then(|(fd, addr)| finish(fd, addr));
        if let Some(res) = outcome(backoff, res) {
            return res;
        }
    }
}

/// Polls `accept(2)` on `listener` under the rules in the module docs, then
/// turns the new fd into the caller's type with `finish` (whose errors are
/// classified the same way: registering the socket can fail for lack of
/// memory too).
pub(crate) fn poll_accept<T: AsRawFd, R>(
    listener: &PollEvented<T>,
    backoff: &Backoff,
    cx: &mut Context<'_>,
    mut finish: impl FnMut(OwnedFd, RawAddr) -> io::Result<R>,
) -> Poll<io::Result<R>> {
    loop {
        if backoff.poll_wait(cx).is_pending() {
            return Poll::Pending;
        }
        let res = match listener.poll_io(cx, Direction::Read, |l| sys::accept(l.as_raw_fd())) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(res) => res.and_then(|(fd, addr)| finish(fd, addr)),
        };
        if let Some(res) = outcome(backoff, res) {
            return Poll::Ready(res);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified() {
        let e = |n| io::Error::from_raw_os_error(n);
        assert_eq!(classify(&e(libc::ECONNABORTED)), ErrorAction::Skip);
        assert_eq!(classify(&e(libc::ECONNRESET)), ErrorAction::Skip);
        for n in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            assert_eq!(classify(&e(n)), ErrorAction::BackOff);
        }
        assert_eq!(classify(&e(libc::EBADF)), ErrorAction::Return);
        assert_eq!(
            classify(&io::Error::other("not an os error")),
            ErrorAction::Return
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets_on_success() {
        let b = Backoff::new();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(b.poll_wait(&mut cx).is_ready());
        let mut delays = Vec::new();
        for _ in 0..14 {
            b.exhausted();
            let st = b.lock();
            delays.push(st.until.unwrap().saturating_duration_since(Instant::now()));
        }
        assert!(delays[0] <= MIN_BACKOFF);
        assert!(delays.iter().all(|d| *d <= MAX_BACKOFF));
        assert!(delays[13] > MAX_BACKOFF / 2, "the delay grows to the cap");
        assert!(b.poll_wait(&mut cx).is_pending(), "backing off");
        b.succeeded();
        assert!(b.poll_wait(&mut cx).is_ready());
        assert_eq!(b.lock().next, MIN_BACKOFF);
    }
}
