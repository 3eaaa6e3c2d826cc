//! The epoll backend (Linux, Android): edge-triggered, one registration per fd
//! for both directions, an `eventfd` for wake-ups.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::{Event, WaitTimeout};
use crate::Ready;

/// The token of the wake-up eventfd. Registration tokens carry a generation in
/// their upper half that is never `u32::MAX` together with index `u32::MAX`,
/// so this value cannot collide (see `driver::Token`).
const WAKE_TOKEN: u64 = u64::MAX;

/// The interest every fd is registered with.
const INTEREST: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;

/// An epoll instance and its wake-up eventfd.
#[derive(Debug)]
pub(crate) struct Poller {
    /// The epoll fd.
    epoll: OwnedFd,
    /// A non-blocking eventfd registered edge-triggered for reading: writing to
    /// it interrupts `epoll_wait`.
    event_fd: OwnedFd,
    /// Set by `notify` before it writes the eventfd, cleared by
    /// `clear_wakeups` before it reads it: saves the read (a system call)
    /// on every turn that no `notify` preceded.
    notified: std::sync::atomic::AtomicBool,
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        let epoll = syscall!(epoll_create1(libc::EPOLL_CLOEXEC))?;
        // SAFETY: `epoll_create1` returned a fresh fd that nothing else owns.
        let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
        let event_fd = syscall!(eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK))?;
        // SAFETY: `eventfd` returned a fresh fd that nothing else owns.
        let event_fd = unsafe { OwnedFd::from_raw_fd(event_fd) };
        let poller = Poller {
            epoll,
            event_fd,
            notified: std::sync::atomic::AtomicBool::new(false),
        };
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            u64: WAKE_TOKEN,
        };
        syscall!(epoll_ctl(
            poller.epoll.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            poller.event_fd.as_raw_fd(),
            &mut ev
        ))?;
        Ok(poller)
    }

    pub(crate) fn register(&self, fd: RawFd, token: u64) -> io::Result<()> {
        debug_assert_ne!(token, WAKE_TOKEN);
        let mut ev = libc::epoll_event {
            events: INTEREST,
            u64: token,
        };
        syscall!(epoll_ctl(
            self.epoll.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            fd,
            &mut ev
        ))?;
        Ok(())
    }

    /// Stops watching `fd`. The token is not needed: epoll keys its
    /// registrations by fd.
    pub(crate) fn deregister(&self, fd: RawFd, _token: u64) -> io::Result<()> {
        // A non-null event pointer keeps kernels before 2.6.9 happy.
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        syscall!(epoll_ctl(
            self.epoll.as_raw_fd(),
            libc::EPOLL_CTL_DEL,
            fd,
            &mut ev
        ))?;
        Ok(())
    }

    /// Waits for events, a wake-up, or the timeout (`None`: forever).
    ///
    /// `epoll_wait` takes whole milliseconds, rounded up so that a non-zero
    /// timeout never becomes a busy wait. A wait interrupted by a signal is
    /// resumed with what remains of the timeout, and returns with no events
    /// once nothing remains: restarting the full timeout on every `EINTR`
    /// would let a stream of signals postpone the next timer for as long as
    /// it lasts.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.len = 0;
        let clock = WaitTimeout::start(timeout);
        let mut left = clock.full();
        loop {
            match syscall!(epoll_wait(
                self.epoll.as_raw_fd(),
                events.buf.as_mut_ptr().cast::<libc::epoll_event>(),
                events.buf.len() as libc::c_int,
                timeout_millis(left)
            )) {
                Ok(n) => {
                    events.len = n as usize;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    left = clock.left();
                    if left == Some(Duration::ZERO) {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        self.notified
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let one: u64 = 1;
        match syscall!(write(
            self.event_fd.as_raw_fd(),
            (&one as *const u64).cast(),
            std::mem::size_of::<u64>()
        )) {
            Ok(_) => Ok(()),
            // The counter is saturated: a wake-up is already pending.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Resets the eventfd counter, so that only a `notify` from now on
    /// interrupts the next `wait`. Called before the waiter checks whether it
    /// still needs to block: a `notify` before the reset is seen by that
    /// check, one after it by `wait`.
    pub(crate) fn clear_wakeups(&self) {
        if !self
            .notified
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let mut buf = 0u64;
        // Errors (EAGAIN: already drained) are irrelevant here.
        let _ = syscall!(read(
            self.event_fd.as_raw_fd(),
            (&mut buf as *mut u64).cast(),
            std::mem::size_of::<u64>()
        ));
    }
}

/// Converts a wait timeout to whole milliseconds for `epoll_wait`, rounding
/// up so that a non-zero timeout never becomes a zero (busy) wait, and
/// saturating at `c_int::MAX`. `None` is `-1` (wait forever).
fn timeout_millis(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(d) => {
            let nanos = d.as_nanos();
            let millis = nanos.div_ceil(1_000_000);
            millis.min(libc::c_int::MAX as u128) as libc::c_int
        }
    }
}

/// A buffer of kernel events filled by [`Poller::wait`].
pub(crate) struct Events {
    /// Raw events; the first `len` are initialised.
    buf: Box<[MaybeUninit<libc::epoll_event>]>,
    /// How many entries the last wait filled.
    len: usize,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").field("len", &self.len).finish()
    }
}

impl Events {
    pub(crate) fn with_capacity(n: usize) -> Events {
        let n = n.clamp(1, libc::c_int::MAX as usize);
        Events {
            buf: (0..n).map(|_| MaybeUninit::uninit()).collect(),
            len: 0,
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.buf[..self.len]
            .iter()
            // SAFETY: the first `len` entries were initialised by `epoll_wait`.
            .map(|ev| unsafe { ev.assume_init_ref() })
            .filter(|ev| ev.u64 != WAKE_TOKEN)
            .map(|ev| Event {
                token: ev.u64,
                ready: ready_of(ev.events),
            })
    }
}

/// Translates epoll event bits into readiness.
///
/// - `EPOLLIN` is readable, `EPOLLOUT` writable.
/// - `EPOLLRDHUP` means the peer shut down its write half: readable (EOF is
///   there to be read) and read-closed, never write-closed.
/// - `EPOLLHUP` means both halves are shut: everything is ready and closed.
/// - `EPOLLERR` marks an error and wakes both directions, so whichever
///   operation runs next fetches it.
fn ready_of(events: u32) -> Ready {
    let has = |flag: libc::c_int| events & flag as u32 != 0;
    let mut ready = Ready::EMPTY;
    if has(libc::EPOLLIN) || has(libc::EPOLLPRI) {
        ready |= Ready::READABLE;
    }
    if has(libc::EPOLLOUT) {
        ready |= Ready::WRITABLE;
    }
    if has(libc::EPOLLRDHUP) {
        ready |= Ready::READABLE | Ready::READ_CLOSED;
    }
    if has(libc::EPOLLHUP) {
        ready |= Ready::READABLE | Ready::WRITABLE | Ready::READ_CLOSED | Ready::WRITE_CLOSED;
    }
    if has(libc::EPOLLERR) {
        ready |= Ready::ERROR | Ready::READABLE | Ready::WRITABLE;
    }
    ready
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdhup_is_never_write_closed() {
        let r = ready_of((libc::EPOLLIN | libc::EPOLLRDHUP) as u32);
        assert!(r.is_readable() && r.is_read_closed());
        assert!(!r.is_write_closed() && !r.is_writable());
    }

    #[test]
    fn hup_and_err_mark_both_directions() {
        let r = ready_of(libc::EPOLLHUP as u32);
        assert!(r.is_read_closed() && r.is_write_closed());
        let r = ready_of(libc::EPOLLERR as u32);
        assert!(r.is_error() && r.is_readable() && r.is_writable());
    }

    #[test]
    fn timeouts_round_up_never_down() {
        assert_eq!(timeout_millis(None), -1);
        assert_eq!(timeout_millis(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_millis(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_millis(Some(Duration::from_micros(500))), 1);
        assert_eq!(timeout_millis(Some(Duration::from_micros(1001))), 2);
        assert_eq!(timeout_millis(Some(Duration::from_millis(7))), 7);
        assert_eq!(
            timeout_millis(Some(Duration::from_secs(u64::MAX))),
            libc::c_int::MAX
        );
    }

    #[test]
    fn notify_interrupts_wait_and_is_not_reported() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        poller.notify().unwrap();
        poller.notify().unwrap();
        poller.wait(&mut events, None).unwrap();
        assert_eq!(events.iter().count(), 0);
        // Drained: a zero-timeout wait now reports nothing and returns.
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert_eq!(events.len, 0);
        // A second round of notify still wakes (the edge was reset).
        poller.notify().unwrap();
        poller
            .wait(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(events.len, 1);
    }
}
