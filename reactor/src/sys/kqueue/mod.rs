//! The kqueue backend: macOS, iOS, FreeBSD, OpenBSD, DragonFly, and Linux
//! through libkqueue under the developer cfg `runtime_libkqueue`. It
//! implements the backend contract in the parent module's docs.
//!
//! # Implementation
//!
//! - Each fd gets two knotes, `EVFILT_READ` and `EVFILT_WRITE`, both with
//!   `EV_CLEAR` (edge-triggered) and `udata` = the registration token.
//! - Changes are applied with `EV_RECEIPT`, so the kernel answers every change
//!   with an `EV_ERROR` receipt whose `data` is an errno (0 = success), rather
//!   than failing the call at the first bad change and leaving the rest unknown.
//! - Each fd is registered once. kqueue has no "add only if absent": an
//!   `EV_ADD` for an fd that has knotes already silently modifies them, so a
//!   second registration would take over the first one's token (the first
//!   would never hear of readiness again) and dropping either would delete
//!   both. The poller therefore keeps the set of fds it registered, with
//!   their tokens ([`Poller::registered`]), and refuses a second
//!   registration with `EEXIST`, as epoll does. Cost: one uncontended lock
//!   and one hash-map operation per register and deregister, beside the
//!   `kevent` call itself, which runs under that lock so that a check and
//!   its change are one step; registrations on several threads thus take
//!   turns over that call, as `epoll_ctl` calls do on the kernel's epoll
//!   mutex. Waits never touch the set.
//! - The wake-up is an `EVFILT_USER` knote ([`WAKE_IDENT`], `EV_CLEAR`) that
//!   [`Poller::notify`] triggers; [`Events::iter`] drops its events.
//! - Translation from `kevent` to [`Ready`] is pure ([`ready_of`],
//!   [`event_of`]) and unit-tested without a kernel.
//!
//! All ABI differences between platforms live in [`ffi`].

mod ffi;

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::raw::c_int;
use std::ptr;
use std::time::Duration;

use parking_lot::Mutex;

use self::ffi::{
    kevent, EVFILT_READ, EVFILT_USER, EVFILT_WRITE, EV_ADD, EV_CLEAR, EV_DELETE, EV_ENABLE, EV_EOF,
    EV_ERROR, EV_RECEIPT, NOTE_TRIGGER,
};
use super::{Event, WaitTimeout};
use crate::Ready;

/// The `ident` of the `EVFILT_USER` wake-up knote. User events have their own
/// identifier space, so this never collides with fd 0.
const WAKE_IDENT: usize = 0;

/// The longest timeout handed to the kernel; anything longer (68 years) waits
/// forever, which is indistinguishable and avoids `EINVAL` for huge values.
const MAX_TIMEOUT_SECS: u64 = i32::MAX as u64;

/// A zero timeout: apply changes without waiting for events.
const NO_WAIT: libc::timespec = libc::timespec {
    tv_sec: 0,
    tv_nsec: 0,
};

/// A kqueue with its wake-up knote registered.
#[derive(Debug)]
pub(crate) struct Poller {
    /// The kqueue fd. Invariant: a valid kqueue for the whole life of the
    /// `Poller` (set in [`Poller::new`]); `OwnedFd` closes it on drop.
    kq: OwnedFd,
    /// Every fd with knotes on `kq` that [`register`](Poller::register)
    /// added, with the token they carry. Invariant: an fd is in the map
    /// exactly while its two knotes carry that token, except after its owner
    /// closed it without deregistering (the kernel then dropped the knotes
    /// with it), which `register` detects and repairs. Every change of
    /// `kq`'s fd knotes is made while holding this lock, so that checking
    /// the map and changing the knotes are one step.
    registered: Mutex<HashMap<RawFd, u64>>,
}

impl Poller {
    /// Creates a close-on-exec kqueue and registers the `EVFILT_USER` wake-up.
    pub(crate) fn new() -> io::Result<Poller> {
        // SAFETY: `kqueue` has no preconditions; we take ownership of its fd.
        let fd = cvt(unsafe { ffi::kqueue() })?;
        // SAFETY: `fd` was just returned by `kqueue`, is open, and nothing
        // else owns it.
        let kq = unsafe { OwnedFd::from_raw_fd(fd) };
        // kqueue() has no close-on-exec flag everywhere (FreeBSD 14's
        // kqueuex has); set it at once. `kq` is a valid open fd.
        crate::syscall!(fcntl(kq.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC))?;
        let poller = Poller {
            kq,
            registered: Mutex::new(HashMap::new()),
        };
        let flags = EV_ADD | EV_CLEAR | EV_RECEIPT;
        poller.apply(&[kevent::new(WAKE_IDENT, EVFILT_USER, flags, 0, 0)], None)?;
        Ok(poller)
    }

    /// Watches `fd` for reading and writing, edge-triggered, reporting `token`.
    ///
    /// # Errors
    ///
    /// `EEXIST` if `fd` is registered already (its registration is left as
    /// it was); otherwise whatever the kernel reports (`EBADF`, ...), after
    /// removing any knote that was added before the failure.
    pub(crate) fn register(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut registered = self.registered.lock();
        if let Some(&current) = registered.get(&fd) {
            if self.has_knotes(fd, current) {
                return Err(io::Error::from_raw_os_error(libc::EEXIST));
            }
            // Its owner closed it without deregistering: closing an fd
            // drops its knotes, and the number was free to be reused.
        }
        match self.apply(&changes_for_register(fd, token), None) {
            Ok(()) => {
                registered.insert(fd, token);
                Ok(())
            }
            Err(e) => {
                // The read knote may have been added before the write one
                // failed: leave no knote with a token that nobody owns.
                let _ = self.apply(&changes_for_deregister(fd), Some(libc::ENOENT));
                registered.remove(&fd);
                Err(e)
            }
        }
    }

    /// Stops watching `fd`, registered with `token`. A filter that is
    /// already gone (`ENOENT`) is fine. An fd that is not registered with
    /// `token` (no longer: it was closed under its registration and then
    /// registered again by somebody else) is left alone.
    pub(crate) fn deregister(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut registered = self.registered.lock();
        if registered.get(&fd) != Some(&token) {
            return Ok(());
        }
        registered.remove(&fd);
        self.apply(&changes_for_deregister(fd), Some(libc::ENOENT))
    }

    /// Whether `fd` still has its read knote, registered with `token`. An
    /// `EV_ENABLE` of an enabled knote changes nothing (the `udata` it
    /// rewrites is the token it already carries, and `EV_CLEAR` is the flag
    /// it was added with, which libkqueue wants to see again), and without
    /// `EV_ADD` it fails with `ENOENT` where there is no knote, or `EBADF`
    /// where the fd is closed. Only ever called for an fd in the map, and
    /// under its lock.
    fn has_knotes(&self, fd: RawFd, token: u64) -> bool {
        let flags = EV_ENABLE | EV_CLEAR | EV_RECEIPT;
        let probe = kevent::new(fd as usize, EVFILT_READ, flags, 0, token as usize);
        self.apply(&[probe], None).is_ok()
    }

    /// Waits for events, a wake-up, or the timeout (`None`: forever).
    ///
    /// The timeout is passed as an exact `timespec`, so a non-zero timeout is
    /// never rounded to zero. A wait interrupted by a signal is resumed with
    /// the time that is left, and returns with no events once none is.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.len = 0;
        let clock = WaitTimeout::start(timeout);
        let mut left = clock.full();
        loop {
            match self.kevent(&[], &mut events.list, timespec_of(left).as_ref()) {
                Ok(n) => {
                    events.len = n;
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

    /// Makes a concurrent or the next [`wait`](Poller::wait) return, by
    /// triggering the `EVFILT_USER` knote registered in [`Poller::new`].
    /// Nothing to do: an `EV_CLEAR` user event is reset when it is
    /// retrieved, and a trigger before the next wait is still reported.
    pub(crate) fn clear_wakeups(&self) {}

    pub(crate) fn notify(&self) -> io::Result<()> {
        let trigger = kevent::new(WAKE_IDENT, EVFILT_USER, 0, NOTE_TRIGGER, 0);
        match self.kevent(&[trigger], &mut [], Some(&NO_WAIT)) {
            // Interrupted after the change was applied (see `apply`).
            Err(e) if e.kind() != io::ErrorKind::Interrupted => Err(e),
            _ => Ok(()),
        }
    }

    /// Applies one or two `EV_RECEIPT` changes and reports the first receipt
    /// errno other than `ignore`.
    fn apply(&self, changes: &[kevent], ignore: Option<i32>) -> io::Result<()> {
        let mut receipts = [kevent::new(0, 0, 0, 0, 0); 2];
        match self.kevent(changes, &mut receipts[..changes.len()], Some(&NO_WAIT)) {
            Ok(n) => receipt_error(&receipts[..n], ignore),
            // FreeBSD's kevent(2): "When kevent() call fails with EINTR error,
            // all changes in the changelist have been applied."
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `kevent(2)` on this queue: applies `changes`, then waits up to
    /// `timeout` (`None`: forever) for at most `out.len()` events, which it
    /// stores in `out`. Returns how many it stored.
    fn kevent(
        &self,
        changes: &[kevent],
        out: &mut [kevent],
        timeout: Option<&libc::timespec>,
    ) -> io::Result<usize> {
        let nchanges = c_int::try_from(changes.len()).unwrap_or(c_int::MAX);
        let nout = c_int::try_from(out.len()).unwrap_or(c_int::MAX);
        // SAFETY: `self.kq` is a valid kqueue (field invariant); `changes` and
        // `out` are live slices of at least `nchanges` and `nout` entries;
        // the timeout pointer is null or from a live reference. The kernel
        // writes only whole `kevent`s into `out`, which any bits make valid.
        let n = cvt(unsafe {
            ffi::kevent(
                self.kq.as_raw_fd(),
                changes.as_ptr(),
                nchanges,
                out.as_mut_ptr(),
                nout,
                timeout.map_or(ptr::null(), ptr::from_ref),
            )
        })?;
        Ok(n as usize)
    }
}

/// A buffer of raw kernel events, filled by [`Poller::wait`].
#[derive(Debug)]
pub(crate) struct Events {
    /// Room for the events of one wait: at least one entry, so a wait can
    /// block (with no room, `kevent` returns at once).
    list: Vec<kevent>,
    /// How many entries of `list` the last wait filled.
    len: usize,
}

impl Events {
    /// Room for `n` events per wait (at least one).
    pub(crate) fn with_capacity(n: usize) -> Events {
        let list = vec![kevent::new(0, 0, 0, 0, 0); n.max(1)];
        Events { list, len: 0 }
    }

    /// The events of the last wait, translated; wake-ups are left out.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.list[..self.len].iter().filter_map(event_of)
    }
}

/// Turns a `-1` from an `ffi` function into `io::Error::last_os_error()`.
fn cvt(res: c_int) -> io::Result<c_int> {
    (res >= 0)
        .then_some(res)
        .ok_or_else(io::Error::last_os_error)
}

/// The two changes that register `fd`: read and write knotes, edge-triggered
/// (`EV_CLEAR`), with a receipt each (`EV_RECEIPT`), carrying `token`.
fn changes_for_register(fd: RawFd, token: u64) -> [kevent; 2] {
    // `token as usize` is lossless: ffi.rs admits 64-bit targets only.
    both_filters(fd, EV_ADD | EV_CLEAR | EV_RECEIPT, token as usize)
}

/// The two changes that deregister `fd`, with a receipt each.
fn changes_for_deregister(fd: RawFd) -> [kevent; 2] {
    both_filters(fd, EV_DELETE | EV_RECEIPT, 0)
}

/// The same change for the read and the write knote of `fd`. A negative `fd`
/// becomes a huge ident, which the kernel rejects with `EBADF`.
fn both_filters(fd: RawFd, flags: u16, udata: usize) -> [kevent; 2] {
    [EVFILT_READ, EVFILT_WRITE].map(|filter| kevent::new(fd as usize, filter, flags, 0, udata))
}

/// The first failure among `EV_RECEIPT` receipts: each has `EV_ERROR` set and
/// `data` = errno, 0 meaning success; the errno `ignore` also counts as success.
fn receipt_error(receipts: &[kevent], ignore: Option<i32>) -> io::Result<()> {
    for r in receipts {
        let errno = r.data();
        if r.flags & EV_ERROR != 0 && errno != 0 && Some(errno) != ignore.map(i64::from) {
            return Err(io::Error::from_raw_os_error(errno as i32));
        }
    }
    Ok(())
}

/// The platform-free event for a raw one, or `None` for a wake-up.
fn event_of(ev: &kevent) -> Option<Event> {
    if ev.filter == EVFILT_USER {
        return None;
    }
    Some(Event {
        token: ev.udata as u64,
        ready: ready_of(ev.filter, ev.flags, ev.fflags),
    })
}

/// Translates one kernel event into readiness bits. The rules:
///
/// 1. `EV_ERROR`: the knote itself failed (`data` is the errno) →
///    `ERROR | READABLE | WRITABLE`, so every waiter runs and the next
///    operation reports the error.
/// 2. `EVFILT_READ` → `READABLE`; with `EV_EOF` also `READ_CLOSED`: the peer
///    shut down its write half. That says nothing about our write half, so a
///    half-close never sets `WRITE_CLOSED`.
/// 3. `EVFILT_WRITE` → `WRITABLE`; with `EV_EOF` also `WRITE_CLOSED`: the
///    connection hung up and no write can succeed any more.
/// 4. `EV_EOF` with non-zero `fflags`: `fflags` is the socket's pending errno
///    (e.g. `ECONNREFUSED` of a non-blocking connect) → also `ERROR`, which
///    wakes both directions.
/// 5. Any other filter → nothing.
fn ready_of(filter: i16, flags: u16, fflags: u32) -> Ready {
    if flags & EV_ERROR != 0 {
        return Ready::ERROR | Ready::READABLE | Ready::WRITABLE;
    }
    let eof = flags & EV_EOF != 0;
    let mut ready = match filter {
        EVFILT_READ if eof => Ready::READABLE | Ready::READ_CLOSED,
        EVFILT_READ => Ready::READABLE,
        EVFILT_WRITE if eof => Ready::WRITABLE | Ready::WRITE_CLOSED,
        EVFILT_WRITE => Ready::WRITABLE,
        _ => return Ready::EMPTY,
    };
    if eof && fflags != 0 {
        ready |= Ready::ERROR;
    }
    ready
}

/// A timeout as a `timespec`, exact to the nanosecond (never rounded, so a
/// non-zero timeout stays non-zero); `None` (forever) for `None` or anything
/// beyond [`MAX_TIMEOUT_SECS`].
fn timespec_of(timeout: Option<Duration>) -> Option<libc::timespec> {
    let d = timeout.filter(|d| d.as_secs() <= MAX_TIMEOUT_SECS)?;
    Some(libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as _,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A raw event as the kernel would return it.
    fn raw(filter: i16, flags: u16, data: i64) -> kevent {
        let mut ev = kevent::new(7, filter, flags, 0, 42);
        ev.set_data(data);
        ev
    }

    #[test]
    fn filters_and_eof_map_to_their_own_direction() {
        use Ready as R;
        assert_eq!(ready_of(EVFILT_READ, 0, 0), R::READABLE);
        assert_eq!(ready_of(EVFILT_WRITE, 0, 0), R::WRITABLE);
        assert_eq!(ready_of(EVFILT_USER, 0, 0), R::EMPTY);
        // A peer's half-close must not mark the write side.
        assert_eq!(
            ready_of(EVFILT_READ, EV_EOF, 0),
            R::READABLE | R::READ_CLOSED
        );
        assert_eq!(
            ready_of(EVFILT_WRITE, EV_EOF, 0),
            R::WRITABLE | R::WRITE_CLOSED
        );
        // EV_EOF with an errno in fflags (a refused connect) is an error.
        let refused = libc::ECONNREFUSED as u32;
        let r = ready_of(EVFILT_WRITE, EV_EOF, refused);
        assert_eq!(r, R::WRITABLE | R::WRITE_CLOSED | R::ERROR);
        assert!(ready_of(EVFILT_READ, EV_EOF, refused).is_error());
        // Without EV_EOF, fflags are filter flags, not an errno.
        assert!(!ready_of(EVFILT_READ, 0, 1).is_error());
        let all = R::ERROR | R::READABLE | R::WRITABLE;
        assert_eq!(ready_of(EVFILT_READ, EV_ERROR, 0), all);
        assert_eq!(ready_of(EVFILT_WRITE, EV_ERROR | EV_EOF, 0), all);
    }

    #[test]
    fn changes_carry_both_filters_receipts_and_the_token() {
        let flags = EV_ADD | EV_CLEAR | EV_RECEIPT;
        let [read, write] = changes_for_register(5, u64::MAX);
        assert_eq!(read, kevent::new(5, EVFILT_READ, flags, 0, usize::MAX));
        assert_eq!(write, kevent::new(5, EVFILT_WRITE, flags, 0, usize::MAX));
        let ev = event_of(&read).unwrap();
        assert_eq!((ev.token, ev.ready), (u64::MAX, Ready::READABLE));
        assert_eq!(event_of(&raw(EVFILT_USER, EV_CLEAR, 0)), None);
        let flags = EV_DELETE | EV_RECEIPT;
        let del = [EVFILT_READ, EVFILT_WRITE].map(|f| kevent::new(5, f, flags, 0, 0));
        assert_eq!(changes_for_deregister(5), del);
    }

    #[test]
    fn receipts_report_the_first_errno_unless_ignored() {
        let ok = raw(EVFILT_READ, EV_ERROR, 0);
        let noent = raw(EVFILT_READ, EV_ERROR, libc::ENOENT.into());
        let badf = raw(EVFILT_WRITE, EV_ERROR, libc::EBADF.into());
        let errno = |r: io::Result<()>| r.err().and_then(|e| e.raw_os_error());
        assert_eq!(errno(receipt_error(&[ok, ok], None)), None);
        assert_eq!(
            errno(receipt_error(&[ok, badf, noent], None)),
            Some(libc::EBADF)
        );
        assert_eq!(errno(receipt_error(&[noent, ok], Some(libc::ENOENT))), None);
        let r = receipt_error(&[noent, badf], Some(libc::ENOENT));
        assert_eq!(errno(r), Some(libc::EBADF));
        // Without EV_ERROR, `data` is not an errno.
        assert_eq!(errno(receipt_error(&[raw(EVFILT_READ, 0, 5)], None)), None);
    }

    #[test]
    fn timeouts_are_exact_and_huge_ones_wait_forever() {
        let ts = |d| timespec_of(Some(d)).map(|t| (t.tv_sec, t.tv_nsec));
        assert!(timespec_of(None).is_none());
        assert_eq!(ts(Duration::ZERO), Some((0, 0)));
        assert_eq!(ts(Duration::from_nanos(1)), Some((0, 1)));
        assert_eq!(ts(Duration::new(3, 999_999_999)), Some((3, 999_999_999)));
        assert_eq!(ts(Duration::from_secs(MAX_TIMEOUT_SECS + 1)), None);
    }

    /// Against the kernel (or libkqueue), so not under Miri.
    #[cfg(not(miri))]
    #[test]
    fn kernel_round_trip() {
        use std::time::Instant;
        use std::{io::Write, net::Shutdown, os::unix::net::UnixStream};
        let p = Poller::new().unwrap();
        let mut events = Events::with_capacity(16);
        let mut wait = |t| -> Vec<Event> {
            p.wait(&mut events, t).unwrap();
            events.iter().collect()
        };
        p.notify().unwrap();
        assert!(
            wait(None).is_empty(),
            "a wake-up returns and is not reported"
        );
        let start = Instant::now();
        assert!(wait(Some(Duration::from_millis(20))).is_empty());
        assert!(
            start.elapsed() >= Duration::from_millis(20),
            "wake-up consumed"
        );

        let (mut a, b) = UnixStream::pair().unwrap();
        p.register(b.as_raw_fd(), 7).unwrap();
        let writable = Event {
            token: 7,
            ready: Ready::WRITABLE,
        };
        assert_eq!(wait(Some(Duration::from_secs(5))), [writable]);
        a.write_all(b"x").unwrap();
        a.shutdown(Shutdown::Write).unwrap();
        let ready = wait(Some(Duration::from_secs(5)))
            .iter()
            .fold(Ready::EMPTY, |r, e| r | e.ready);
        assert!(ready.is_readable(), "{ready:?}");
        // libkqueue loses EPOLLRDHUP once an fd has both knotes: no EV_EOF.
        assert!(
            cfg!(runtime_libkqueue) || ready.is_read_closed(),
            "{ready:?}"
        );
        assert!(!ready.is_write_closed(), "half-close: {ready:?}");
        p.deregister(b.as_raw_fd(), 7).unwrap();
        p.deregister(b.as_raw_fd(), 7).unwrap(); // not registered: nothing to do
        assert_eq!(
            p.register(-1, 1).unwrap_err().raw_os_error(),
            Some(libc::EBADF)
        );
        p.register(-1, 1).unwrap_err(); // the failure left nothing behind
    }

    /// A second registration of one fd is refused and leaves the first one
    /// as it was: its token, its events, and its knotes after the refused
    /// one's deregistration.
    #[cfg(not(miri))]
    #[test]
    fn an_fd_is_registered_once() {
        use std::{io::Write, os::unix::net::UnixStream};
        let p = Poller::new().unwrap();
        let mut events = Events::with_capacity(16);
        let (mut a, b) = UnixStream::pair().unwrap();
        let fd = b.as_raw_fd();
        p.register(fd, 7).unwrap();
        let err = p.register(fd, 8).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EEXIST), "{err}");
        p.deregister(fd, 8).unwrap(); // not the owner: a no-op
        a.write_all(b"x").unwrap();
        p.wait(&mut events, Some(Duration::from_secs(5))).unwrap();
        let got: Vec<Event> = events.iter().collect();
        assert!(
            !got.is_empty() && got.iter().all(|e| e.token == 7),
            "{got:?}"
        );
        assert!(got.iter().any(|e| e.ready.is_readable()), "{got:?}");
        p.deregister(fd, 7).unwrap();
        // Deregistered: the fd may be registered again, with a new token.
        p.register(fd, 9).unwrap();
        a.write_all(b"y").unwrap();
        p.wait(&mut events, Some(Duration::from_secs(5))).unwrap();
        let got: Vec<Event> = events.iter().collect();
        assert!(
            !got.is_empty() && got.iter().all(|e| e.token == 9),
            "{got:?}"
        );
        p.deregister(fd, 9).unwrap();
    }

    /// An fd closed without being deregistered loses its knotes with it;
    /// its number, reused, registers again instead of reading as taken.
    /// The close is played by deleting the knotes behind the map's back (a
    /// real close and reuse of the number would race the other tests'
    /// fds). libkqueue keeps the knotes of a closed fd, but this part works
    /// there too.
    #[cfg(not(miri))]
    #[test]
    fn a_closed_fd_number_can_be_registered_again() {
        use std::os::unix::net::UnixStream;
        let p = Poller::new().unwrap();
        let (a, _peer) = UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        p.register(fd, 7).unwrap();
        p.apply(&changes_for_deregister(fd), None).unwrap();
        p.register(fd, 8).unwrap();
        p.deregister(fd, 7).unwrap(); // the old owner's: a no-op
        let err = p.register(fd, 9).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EEXIST), "{err}");
        p.deregister(fd, 8).unwrap();
        p.register(fd, 9).unwrap();
        p.deregister(fd, 9).unwrap();
    }
}
