//! A registered fd, as seen by the I/O types built on top of the reactor.

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use crate::scheduled_io::{ReadyEvent, ReadyEvents, ScheduledIo};
use crate::{coop, Direction, Interest, Reactor, Ready};

/// A file descriptor registered with the [`Reactor`].
///
/// Dropping it deregisters the fd and wakes every task parked on it; the
/// owner must therefore drop the `Registration` *before* closing the fd.
///
/// Two ways to wait, as in tokio:
///
/// - [`poll_ready`](Registration::poll_ready) and
///   [`poll_io`](Registration::poll_io) keep one waker per direction: if two
///   tasks poll the same direction concurrently, only the last one to poll
///   is woken (as with tokio's `poll_read_ready`). They serve the `poll_*`
///   methods and the `AsyncRead`/`AsyncWrite` impls, where one task owns a
///   direction.
/// - [`readiness`](Registration::readiness) and
///   [`async_io`](Registration::async_io) wait in a list that lives in the
///   waiting futures: any number of tasks may wait on one direction, and
///   readiness wakes them all. They serve the `async fn`s (`readable()`,
///   `accept()`, `recv_from()`, ...) that tasks share a socket through.
pub struct Registration {
    /// The reactor this fd is registered with.
    reactor: &'static Reactor,
    /// Readiness and wakers, shared with the reactor's slab.
    io: Arc<ScheduledIo>,
    /// The slab slot, to free it on drop.
    index: usize,
    /// The registered fd, to deregister it on drop.
    fd: RawFd,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("fd", &self.fd)
            .field("index", &self.index)
            .field("readiness", &self.io.readiness())
            .finish()
    }
}

fn gone() -> io::Error {
    io::Error::other("the I/O resource was deregistered from the reactor")
}

impl Registration {
    pub(crate) fn new(
        reactor: &'static Reactor,
        io: Arc<ScheduledIo>,
        index: usize,
        fd: RawFd,
    ) -> Self {
        Registration {
            reactor,
            io,
            index,
            fd,
        }
    }

    /// Polls for readiness in `direction`, storing the task's waker if it is
    /// not ready.
    ///
    /// # Errors
    ///
    /// Fails only if the registration was removed.
    pub fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        let ev = ready!(self.io.poll_ready(cx, direction));
        if ev.shutdown {
            return Poll::Ready(Err(gone()));
        }
        Poll::Ready(Ok(ev))
    }

    /// Polls for readiness in any direction of `interest`, storing the task's
    /// waker in the slot of every direction that is not ready.
    ///
    /// # Errors
    ///
    /// Fails only if the registration was removed.
    pub fn poll_ready_interest(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<ReadyEvents>> {
        let mut pending = true;
        for direction in interest.directions() {
            if self.poll_ready(cx, direction)?.is_ready() {
                pending = false;
            }
        }
        if pending {
            return Poll::Pending;
        }
        match self.io.ready_events(interest) {
            Some(events) if events.is_shutdown() => Poll::Ready(Err(gone())),
            Some(events) => Poll::Ready(Ok(events)),
            // Cleared in between by another task: the slots hold our waker.
            None => Poll::Pending,
        }
    }

    /// Waits until a direction of `interest` is ready, in the registration's
    /// waiter list: any number of tasks may wait at once, and readiness
    /// wakes every one of them. Each wait consumes one unit of the task's
    /// cooperative budget.
    ///
    /// Cancel-safe: dropping the future unlinks it, and never costs another
    /// waiter its wake-up.
    ///
    /// # Errors
    ///
    /// Fails only if the registration was removed.
    pub async fn readiness(&self, interest: Interest) -> io::Result<ReadyEvents> {
        let events = self.io.wait(interest).await;
        if events.is_shutdown() {
            return Err(gone());
        }
        Ok(events)
    }

    /// Runs the non-blocking operation `op` once the fd is ready in
    /// `direction`, until it does not return `WouldBlock`, waiting in the
    /// waiter list (see [`readiness`](Registration::readiness)).
    ///
    /// `WouldBlock` clears the observed readiness and waits again; `EINTR`
    /// retries at once.
    ///
    /// # Errors
    ///
    /// What `op` returns, other than `WouldBlock` and `Interrupted`; or the
    /// registration was removed.
    pub async fn async_io<R>(
        &self,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let events = self.readiness(direction.into()).await?;
            loop {
                match op() {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if let Some(ev) = events.get(direction) {
                            self.clear_readiness(ev);
                        }
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    res => return res,
                }
            }
        }
    }

    /// Clears the readiness that `event` reported, unless a newer event for
    /// its direction arrived since, or `event` was observed on another
    /// registration. Call it when an operation returned `WouldBlock` after
    /// `event` was observed.
    pub fn clear_readiness(&self, event: ReadyEvent) {
        self.io.clear_readiness(event);
    }

    /// Runs the non-blocking operation `op` once the fd is ready in
    /// `direction`, until it does not return `WouldBlock`.
    ///
    /// `WouldBlock` clears the observed readiness and parks the task; `EINTR`
    /// retries at once. A call that completes (with a value or an error)
    /// spends one unit of the task's cooperative budget (see [`coop`]); one
    /// that returns `Pending` for want of readiness spends nothing. When the
    /// budget is spent this returns `Pending` after waking the task.
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_inner(cx, direction, op, |_| false)
    }

    /// [`poll_io`](Registration::poll_io) for a transfer on a stream socket
    /// (TCP, Unix stream) of `len` bytes, `op` returning how many moved.
    ///
    /// A short transfer (more than 0 and fewer than `len` bytes) also clears
    /// the direction's readable or writable bit, with the same tick check as
    /// `WouldBlock`: on a stream socket it is the kernel's own statement that
    /// the receive queue was empty (or the send buffer full) at that instant,
    /// which saves the `EAGAIN` call that would otherwise prove it. Closed
    /// and error bits are kept: the next operation must still see them.
    /// Datagram sockets must not use this (a short datagram proves nothing),
    /// nor peeks (the data stays queued).
    pub fn poll_stream_io(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        len: usize,
        op: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_io_inner(cx, direction, op, |&n| n > 0 && n < len)
    }

    /// [`poll_stream_io`](Registration::poll_stream_io) for an `op` that
    /// also says whether the transfer proved the kernel queue drained when
    /// it moved all `len` bytes: `op` returns `(n, drained)`. A short
    /// transfer clears readiness whatever `drained` says; a full one clears
    /// it only if `drained` (for example a TCP read that filled the buffer
    /// and learned from `TCP_INQ` that nothing was left queued). `drained`
    /// must be the kernel's word, taken in the same call: a wrong `true`
    /// loses a wake-up.
    pub fn poll_stream_io_hinted(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        len: usize,
        op: impl FnMut() -> io::Result<(usize, bool)>,
    ) -> Poll<io::Result<(usize, bool)>> {
        self.poll_io_inner(cx, direction, op, |&(n, drained)| {
            n > 0 && (n < len || drained)
        })
    }

    fn poll_io_inner<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        // Dropped on `Pending` (not ready), the guard gives its unit back.
        let coop = ready!(coop::poll_proceed(cx));
        let res = loop {
            let ev = match ready!(self.poll_ready(cx, direction)) {
                Ok(ev) => ev,
                Err(e) => break Err(e),
            };
            match self.run(ev, &mut op, &drained) {
                Attempt::Done(res) => break res,
                Attempt::WouldBlock(_) | Attempt::Interrupted => continue,
            }
        };
        coop.made_progress();
        Poll::Ready(res)
    }

    /// Runs `op` if the fd looks ready in `direction`, without registering a
    /// waker; returns `WouldBlock` if it is not ready or `op` would block.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, what `op` returns, or the registration was removed.
    pub fn try_io<R>(
        &self,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        let ev = match self.io.ready_event(direction) {
            Some(ev) if ev.shutdown => return Err(gone()),
            Some(ev) => ev,
            None => return Err(io::ErrorKind::WouldBlock.into()),
        };
        loop {
            match self.run(ev, &mut op, &|_| false) {
                Attempt::Done(res) => return res,
                Attempt::WouldBlock(e) => return Err(e),
                Attempt::Interrupted => continue,
            }
        }
    }

    /// Runs `op` once if the fd looks ready in any direction of `interest`
    /// (tokio's `try_io`, for a system call the socket types do not wrap):
    /// `WouldBlock` without calling it if nothing is ready; a `WouldBlock`
    /// from `op` clears the readiness observed, so the next wait waits for
    /// a new event. `op` runs once: `EINTR` is its result.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, what `op` returns, or the registration was removed.
    pub fn try_io_interest<R>(
        &self,
        interest: Interest,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let events = match self.io.ready_events(interest) {
            Some(events) if events.is_shutdown() => return Err(gone()),
            Some(events) => events,
            None => return Err(io::ErrorKind::WouldBlock.into()),
        };
        let res = op();
        if matches!(&res, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.clear_events(&events);
        }
        res
    }

    /// Waits until a direction of `interest` is ready (in the waiter list,
    /// as [`readiness`](Registration::readiness)) and runs `op`, again
    /// after each `WouldBlock` (which clears the readiness observed) and
    /// at once after `EINTR`: tokio's `async_io`.
    ///
    /// # Errors
    ///
    /// What `op` returns, other than `WouldBlock` and `Interrupted`; or the
    /// registration was removed.
    pub async fn async_io_interest<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let events = self.readiness(interest).await?;
            loop {
                match op() {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.clear_events(&events);
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    res => return res,
                }
            }
        }
    }

    fn clear_events(&self, events: &ReadyEvents) {
        for ev in events.iter() {
            self.clear_readiness(*ev);
        }
    }

    /// Runs `op` once, readiness `ev` observed. `WouldBlock` clears `ev`;
    /// a result that `drained` says proves the kernel queue drained clears
    /// the transfer bit of `ev` (not the closed and error bits).
    fn run<R>(
        &self,
        ev: ReadyEvent,
        op: &mut impl FnMut() -> io::Result<R>,
        drained: &impl Fn(&R) -> bool,
    ) -> Attempt<R> {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_readiness(ev);
                Attempt::WouldBlock(e)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Attempt::Interrupted,
            res => {
                if res.as_ref().is_ok_and(drained) {
                    let mut transfer = ev;
                    transfer.ready = ev.ready & (Ready::READABLE | Ready::WRITABLE);
                    self.clear_readiness(transfer);
                }
                Attempt::Done(res)
            }
        }
    }

    /// The registered fd.
    pub fn fd(&self) -> RawFd {
        self.fd
    }
}

/// What one run of an operation came to.
enum Attempt<R> {
    /// It completed (with a value or an error other than the two below).
    Done(io::Result<R>),
    /// `WouldBlock`: readiness was cleared.
    WouldBlock(io::Error),
    /// `EINTR`: run it again at once.
    Interrupted,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.reactor.deregister(&self.io, self.index, self.fd);
    }
}
