//! The one registered-I/O adapter every socket type (and `AsyncFd`) is built
//! on, with the stream operations they share.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::task::{ready, Context, Poll};

use runtime_reactor::{coop, Direction, Reactor, Ready, ReadyEvent, Registration};

use crate::sys::{self, RawAddr};
use crate::Interest;

/// An I/O object registered with the reactor.
///
/// Field order matters: `registration` is declared (and so dropped) before
/// `io`, so the fd is deregistered before it is closed.
pub(crate) struct PollEvented<T: AsRawFd> {
    /// The reactor registration of `io`'s fd.
    registration: Registration,
    /// The non-blocking OS object; closed after deregistration.
    io: T,
}

impl<T: AsRawFd> PollEvented<T> {
    /// Registers `io`, which must already be in non-blocking mode.
    pub(crate) fn new(io: T) -> io::Result<Self> {
        PollEvented::try_new(io).map_err(|(_, e)| e)
    }

    /// Registers `io`, handing it back if that fails.
    pub(crate) fn try_new(io: T) -> Result<Self, (T, io::Error)> {
        let registration = Reactor::get().and_then(|r| {
            // SAFETY: `io` owns the fd and is kept beside the registration,
            // which is dropped first (field order, `into_inner`), so the fd
            // is open for the registration's whole life; `borrow_raw` only
            // lends it for this call.
            unsafe { r.register(BorrowedFd::borrow_raw(io.as_raw_fd())) }
        });
        match registration {
            Ok(registration) => Ok(PollEvented { registration, io }),
            Err(e) => Err((io, e)),
        }
    }

    /// The OS object.
    pub(crate) fn get_ref(&self) -> &T {
        &self.io
    }

    /// The OS object, mutably.
    pub(crate) fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// The reactor registration.
    pub(crate) fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Deregisters and returns the OS object (still non-blocking).
    pub(crate) fn into_inner(self) -> T {
        let PollEvented { registration, io } = self;
        drop(registration);
        io
    }

    /// Runs `op` on the object once it is ready in `direction`; see
    /// [`Registration::poll_io`].
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let mut op = op;
        self.registration.poll_io(cx, direction, || op(&self.io))
    }

    /// Runs `op` if the object looks ready; never parks the task.
    pub(crate) fn try_io<R>(
        &self,
        direction: Direction,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut op = op;
        self.registration.try_io(direction, || op(&self.io))
    }

    /// Waits until the object is ready in `direction` (without running any
    /// operation and without clearing readiness). Readiness found spends a
    /// unit of the task's budget, so a loop of `poll_read_ready` and
    /// `try_read` on an always-ready socket yields like the I/O calls do.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        let coop = ready!(coop::poll_proceed(cx));
        let res = ready!(self.registration.poll_ready(cx, direction));
        coop.made_progress();
        Poll::Ready(res)
    }

    /// Runs `op` on the object once it is ready in `direction`, waiting in
    /// the waiter list (any number of tasks may share the direction); see
    /// [`Registration::async_io`].
    pub(crate) async fn async_io<R>(
        &self,
        direction: Direction,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.registration.async_io(direction, || op(&self.io)).await
    }

    /// Waits until the object is ready in any direction of `interest` and
    /// returns the ready bits (without clearing them). Any number of tasks
    /// may wait at once; readiness wakes them all.
    pub(crate) async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        let events = self.registration.readiness(interest).await?;
        Ok(events.ready())
    }

    /// Waits until the object may be readable (`direction` Read) or
    /// writable, as [`ready`](PollEvented::ready) does.
    pub(crate) async fn ready_in(&self, direction: Direction) -> io::Result<()> {
        self.registration
            .readiness(direction.into())
            .await
            .map(drop)
    }

    // Datagram-socket operations, shared by UDP and Unix datagram sockets.
    // Unlike the stream operations below, an empty buffer is a real call:
    // it sends an empty datagram, or takes one datagram off the queue. The
    // `async` forms wait in the waiter list, so several tasks may send and
    // receive on one shared socket.

    /// Sends `buf` as one datagram to the connected peer.
    pub(crate) async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.async_io(Direction::Write, |s| sys::io::send(s.as_raw_fd(), buf))
            .await
    }

    /// Receives one datagram into `buf` (truncated to its length).
    pub(crate) async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_uninit(sys::io::as_uninit(buf)).await
    }

    /// Receives one datagram into `buf`, which need not be initialised
    /// (truncated to its length). On `Ok(n)` the kernel has written
    /// `buf[..n]`, and nothing else.
    pub(crate) async fn recv_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        self.async_io(Direction::Read, |s| {
            sys::io::recv_uninit(s.as_raw_fd(), buf, 0)
        })
        .await
    }

    /// Receives one datagram into `buf`, which need not be initialised
    /// (truncated to its length), with the sender's raw address; `flags` is
    /// 0 or `MSG_PEEK`. On `Ok((n, _))` the kernel has written `buf[..n]`.
    pub(crate) async fn recv_from(
        &self,
        buf: &mut [MaybeUninit<u8>],
        flags: libc::c_int,
    ) -> io::Result<(usize, RawAddr)> {
        self.async_io(Direction::Read, |s| {
            sys::io::recv_from(s.as_raw_fd(), buf, flags)
        })
        .await
    }

    /// Polls a [`recv_from`](PollEvented::recv_from).
    pub(crate) fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
        flags: libc::c_int,
    ) -> Poll<io::Result<(usize, RawAddr)>> {
        self.poll_io(cx, Direction::Read, |s| {
            sys::io::recv_from(s.as_raw_fd(), buf, flags)
        })
    }

    /// A [`recv_from`](PollEvented::recv_from) without waiting.
    pub(crate) fn try_recv_from(
        &self,
        buf: &mut [MaybeUninit<u8>],
        flags: libc::c_int,
    ) -> io::Result<(usize, RawAddr)> {
        self.try_io(Direction::Read, |s| {
            sys::io::recv_from(s.as_raw_fd(), buf, flags)
        })
    }

    /// Polls sending `buf` as one datagram to the connected peer.
    pub(crate) fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_io(cx, Direction::Write, |s| sys::io::send(s.as_raw_fd(), buf))
    }

    /// Sends `buf` as one datagram to the connected peer without waiting.
    pub(crate) fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_io(Direction::Write, |s| sys::io::send(s.as_raw_fd(), buf))
    }

    /// Polls receiving one datagram into `buf` (truncated to its length).
    pub(crate) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(cx, Direction::Read, |s| {
            sys::io::recv(s.as_raw_fd(), buf, 0)
        })
    }

    /// Receives one datagram into `buf` without waiting.
    pub(crate) fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_recv_uninit(sys::io::as_uninit(buf))
    }

    /// Receives one datagram into `buf`, which need not be initialised,
    /// without waiting. On `Ok(n)` the kernel has written `buf[..n]`.
    pub(crate) fn try_recv_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        self.try_io(Direction::Read, |s| {
            sys::io::recv_uninit(s.as_raw_fd(), buf, 0)
        })
    }

    // Stream-socket operations, shared by TCP and Unix streams. An empty
    // buffer reads or writes nothing at once (and says nothing about EOF).
    // Polled reads and writes (the `AsyncRead`/`AsyncWrite` path) are
    // stream transfers: a short one clears the direction's readiness as
    // `WouldBlock` would (see `Registration::poll_stream_io`), which saves
    // one system call per message (TCP streams also clear after a full
    // read that `TCP_INQ` says left nothing, `tcp::inq`). Peeks are not (the data they saw stays
    // queued), and neither are the `try_*` calls, which clear only on
    // `WouldBlock`, as tokio's do: their callers pair them with
    // `readable()`/`writable()` and take `WouldBlock` as the signal to wait.
    //
    // The kernel's part of that bargain: a TCP `recv` returns less than
    // asked only when the receive queue ran dry (or at an urgent-data mark,
    // `MSG_OOB`, which nothing here uses), a `send` accepts less than offered
    // only when the send buffer is full; a Unix-stream `recv` also stops
    // between writes of different credentials when `SO_PASSCRED` is set, or
    // after a message carrying file descriptors, neither of which these
    // types use.

    /// Polls a read into `buf`.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let len = buf.len();
        self.registration
            .poll_stream_io(cx, Direction::Read, len, || {
                sys::io::recv(self.io.as_raw_fd(), buf, 0)
            })
    }

    /// Polls a read into `buf`, which need not be initialised (for the
    /// `hyper` and `tokio` read traits, whose buffers may be uninitialised
    /// memory, so that no byte is zeroed only to be overwritten, and for
    /// TCP's reads, `tcp::inq`). The same
    /// stream transfer as [`poll_read`](PollEvented::poll_read): a short
    /// read clears readiness. On `Ok(n)`, `buf[..n]` has been written by the
    /// kernel and is initialised; the rest is untouched.
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let len = buf.len();
        self.registration
            .poll_stream_io(cx, Direction::Read, len, || {
                sys::io::recv_uninit(self.io.as_raw_fd(), buf, 0)
            })
    }

    /// Polls a read into `buf` that leaves the data queued (`MSG_PEEK`).
    pub(crate) fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.poll_io(cx, Direction::Read, |s| {
            sys::io::recv(s.as_raw_fd(), buf, libc::MSG_PEEK)
        })
    }

    /// Reads into `buf` leaving the data queued (`MSG_PEEK`), waiting in the
    /// waiter list (several tasks may peek at once).
    pub(crate) async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.async_io(Direction::Read, |s| {
            sys::io::recv(s.as_raw_fd(), buf, libc::MSG_PEEK)
        })
        .await
    }

    /// Polls a vectored read into `bufs`.
    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        let len = sys::io::recv_vectored_len(bufs);
        self.registration
            .poll_stream_io(cx, Direction::Read, len, || {
                sys::io::recv_vectored(self.io.as_raw_fd(), bufs)
            })
    }

    /// Polls a write of `buf`.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.registration
            .poll_stream_io(cx, Direction::Write, buf.len(), || {
                sys::io::send(self.io.as_raw_fd(), buf)
            })
    }

    /// Polls a vectored write of `bufs` (`sendmsg`, see
    /// [`sys::io::send_vectored`]).
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        let len = total_len(bufs);
        self.registration
            .poll_stream_io(cx, Direction::Write, len, || {
                sys::io::send_vectored(self.io.as_raw_fd(), bufs)
            })
    }

    /// Reads without waiting.
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_read_uninit(sys::io::as_uninit(buf))
    }

    /// Reads into `buf`, which need not be initialised, without waiting. On
    /// `Ok(n)` the kernel has written `buf[..n]`, and nothing else.
    pub(crate) fn try_read_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.try_io(Direction::Read, |s| {
            sys::io::recv_uninit(s.as_raw_fd(), buf, 0)
        })
    }

    /// Reads into `bufs` without waiting.
    pub(crate) fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Ok(0);
        }
        self.try_io(Direction::Read, |s| {
            sys::io::recv_vectored(s.as_raw_fd(), bufs)
        })
    }

    /// Writes without waiting.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.try_io(Direction::Write, |s| sys::io::send(s.as_raw_fd(), buf))
    }

    /// Writes `bufs` without waiting.
    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Ok(0);
        }
        self.try_io(Direction::Write, |s| {
            sys::io::send_vectored(s.as_raw_fd(), bufs)
        })
    }
}

/// The bytes a vectored write offers.
fn total_len(bufs: &[IoSlice<'_>]) -> usize {
    bufs.iter().fold(0usize, |n, b| n.saturating_add(b.len()))
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for PollEvented<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollEvented")
            .field("io", &self.io)
            .field("registration", &self.registration)
            .finish()
    }
}
