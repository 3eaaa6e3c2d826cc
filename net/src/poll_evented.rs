//! The one registered-I/O adapter every socket type is built on.

use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::task::{Context, Poll};

use runtime_reactor::{Direction, Reactor, ReadyEvent, Registration};

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
        let registration = Reactor::get()?.register(io.as_raw_fd())?;
        Ok(PollEvented { registration, io })
    }

    /// The OS object.
    pub(crate) fn get_ref(&self) -> &T {
        &self.io
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
    /// operation and without clearing readiness).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        self.registration.poll_ready(cx, direction)
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for PollEvented<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollEvented")
            .field("io", &self.io)
            .field("registration", &self.registration)
            .finish()
    }
}
