//! [`AsyncFd`]: drive any file descriptor with the reactor.

use std::error::Error;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{ready, Context, Poll};

use runtime_reactor::{coop, Ready, ReadyEvents};

use crate::poll_evented::PollEvented;
use crate::Interest;

/// Registers an fd that you own with the reactor, so tasks can wait until it
/// is readable or writable: pipes, `eventfd`, `timerfd`, `signalfd`,
/// inotify, a socket made by another library.
///
/// The fd must be in non-blocking mode (`O_NONBLOCK`), and must be a kind
/// the OS poller accepts (epoll refuses regular files and directories with
/// `EPERM`). `AsyncFd` takes `T` by value and keeps it for its whole life;
/// the fd is deregistered before `T` is dropped (or handed back by
/// [`into_inner`](AsyncFd::into_inner)).
///
/// Readiness works as for the crate's own sockets: edge-triggered, set by
/// the reactor and cleared only by you, through the guard that a
/// [`readable`](AsyncFd::readable) or [`writable`](AsyncFd::writable) wait
/// returns: call [`try_io`](AsyncFdReadyGuard::try_io) with the operation,
/// which clears readiness when the operation returns `WouldBlock`, or
/// [`clear_ready`](AsyncFdReadyGuard::clear_ready) after draining the fd
/// yourself. Forgetting to clear makes the next wait return at once.
///
/// # Examples
///
/// A socket made by another library (here the standard library), read
/// through `AsyncFd`:
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use runtime::io::unix::AsyncFd;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (theirs, mut peer) = UnixStream::pair()?;
/// theirs.set_nonblocking(true)?;
/// let fd = AsyncFd::new(theirs)?;
/// peer.write_all(b"ping")?;
/// let mut buf = [0u8; 4];
/// let n = loop {
///     let mut guard = fd.readable().await?;
///     match guard.try_io(|inner| inner.get_ref().read(&mut buf)) {
///         Ok(result) => break result?,
///         Err(_would_block) => continue,
///     }
/// };
/// assert_eq!(&buf[..n], b"ping");
/// let theirs: UnixStream = fd.into_inner(); // deregistered, still open
/// # drop(theirs);
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub struct AsyncFd<T: AsRawFd> {
    /// The registration and `T`, dropped in that order.
    io: PollEvented<T>,
}

/// The readiness an [`AsyncFd`] wait saw, borrowed from the `AsyncFd`.
///
/// Dropping the guard keeps the readiness (the next wait returns at once);
/// [`clear_ready`](Self::clear_ready) or a [`try_io`](Self::try_io) that
/// hits `WouldBlock` clears it.
#[must_use = "the readiness is cleared only through the guard"]
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    async_fd: &'a AsyncFd<T>,
    events: ReadyEvents,
}

/// Like [`AsyncFdReadyGuard`], with mutable access to the `AsyncFd`.
#[must_use = "the readiness is cleared only through the guard"]
pub struct AsyncFdReadyMutGuard<'a, T: AsRawFd> {
    async_fd: &'a mut AsyncFd<T>,
    events: ReadyEvents,
}

/// The operation passed to `try_io` returned `WouldBlock`; readiness has
/// been cleared, so wait again.
#[derive(Debug)]
pub struct TryIoError(());

impl fmt::Display for TryIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the I/O operation would block; wait for readiness again")
    }
}

impl Error for TryIoError {}

/// [`AsyncFd::try_new`] failed; the object is handed back with the cause.
pub struct AsyncFdTryNewError<T> {
    inner: T,
    cause: io::Error,
}

impl<T> AsyncFdTryNewError<T> {
    /// The object that could not be registered, and why.
    pub fn into_parts(self) -> (T, io::Error) {
        (self.inner, self.cause)
    }
}

impl<T> fmt::Debug for AsyncFdTryNewError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdTryNewError")
            .field("cause", &self.cause)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for AsyncFdTryNewError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "registering the fd with the reactor failed: {}",
            self.cause
        )
    }
}

impl<T> Error for AsyncFdTryNewError<T> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.cause)
    }
}

impl<T> From<AsyncFdTryNewError<T>> for io::Error {
    fn from(e: AsyncFdTryNewError<T>) -> io::Error {
        e.cause
    }
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner`'s fd with the reactor (for both directions).
    ///
    /// # Errors
    ///
    /// What the poller reports: `EPERM` for regular files on epoll,
    /// `EEXIST` if the fd is registered already (by another `AsyncFd` or a
    /// socket type), `ENOMEM`; `inner` is dropped. Use
    /// [`try_new`](AsyncFd::try_new) to get it back.
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::try_new(inner).map_err(io::Error::from)
    }

    /// Like [`new`](AsyncFd::new), but hands `inner` back on failure.
    ///
    /// # Errors
    ///
    /// As [`new`](AsyncFd::new).
    pub fn try_new(inner: T) -> Result<AsyncFd<T>, AsyncFdTryNewError<T>> {
        match PollEvented::try_new(inner) {
            Ok(io) => Ok(AsyncFd { io }),
            Err((inner, cause)) => Err(AsyncFdTryNewError { inner, cause }),
        }
    }

    /// The wrapped object.
    pub fn get_ref(&self) -> &T {
        self.io.get_ref()
    }

    /// The wrapped object, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        self.io.get_mut()
    }

    /// Deregisters the fd and returns the object (its fd still open).
    pub fn into_inner(self) -> T {
        self.io.into_inner()
    }

    fn poll_ready_priv(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<ReadyEvents>> {
        // Readiness reported (or an error) is progress; `Pending` refunds.
        let coop = ready!(coop::poll_proceed(cx));
        let res = ready!(self.io.registration().poll_ready_interest(cx, interest));
        coop.made_progress();
        Poll::Ready(res)
    }

    /// Polls for read readiness; stores the task's waker if not ready.
    ///
    /// # Errors
    ///
    /// Only if the registration is gone.
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_ready_priv(cx, Interest::READABLE)
            .map_ok(|events| AsyncFdReadyGuard {
                async_fd: self,
                events,
            })
    }

    /// Polls for write readiness; stores the task's waker if not ready.
    ///
    /// # Errors
    ///
    /// Only if the registration is gone.
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_ready_priv(cx, Interest::WRITABLE)
            .map_ok(|events| AsyncFdReadyGuard {
                async_fd: self,
                events,
            })
    }

    /// Polls for read readiness, with mutable access in the guard.
    ///
    /// # Errors
    ///
    /// Only if the registration is gone.
    pub fn poll_read_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        let events = ready!(self.poll_ready_priv(cx, Interest::READABLE))?;
        Poll::Ready(Ok(AsyncFdReadyMutGuard {
            async_fd: self,
            events,
        }))
    }

    /// Polls for write readiness, with mutable access in the guard.
    ///
    /// # Errors
    ///
    /// Only if the registration is gone.
    pub fn poll_write_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        let events = ready!(self.poll_ready_priv(cx, Interest::WRITABLE))?;
        Poll::Ready(Ok(AsyncFdReadyMutGuard {
            async_fd: self,
            events,
        }))
    }

    /// Waits until the fd is ready in any direction of `interest`.
    ///
    /// Any number of tasks may wait on one `AsyncFd` at once (through a
    /// shared reference); readiness wakes every one of them. The `poll_*`
    /// methods instead keep one waker per direction: only the last task to
    /// poll a direction is woken.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped wait leaves no trace and takes no wake-up
    /// from another waiter.
    ///
    /// # Errors
    ///
    /// Only if the registration is gone.
    pub async fn ready(&self, interest: Interest) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let events = self.io.registration().readiness(interest).await?;
        Ok(AsyncFdReadyGuard {
            async_fd: self,
            events,
        })
    }

    /// Waits until the fd is ready in any direction of `interest`, with
    /// mutable access in the guard.
    ///
    /// # Errors
    ///
    /// Only if the registration is gone.
    pub async fn ready_mut(
        &mut self,
        interest: Interest,
    ) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let events = self.io.registration().readiness(interest).await?;
        Ok(AsyncFdReadyMutGuard {
            async_fd: self,
            events,
        })
    }

    /// Waits until the fd may be readable.
    ///
    /// # Errors
    ///
    /// Only if the registration is gone.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::READABLE).await
    }

    /// Waits until the fd may be readable, with mutable access in the guard.
    ///
    /// # Errors
    ///
    /// Only if the registration is gone.
    pub async fn readable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::READABLE).await
    }

    /// Waits until the fd may be writable.
    ///
    /// # Errors
    ///
    /// Only if the registration is gone.
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::WRITABLE).await
    }

    /// Waits until the fd may be writable, with mutable access in the guard.
    ///
    /// # Errors
    ///
    /// Only if the registration is gone.
    pub async fn writable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::WRITABLE).await
    }

    /// Runs `f` until it does not return `WouldBlock`, waiting for
    /// `interest` before each try (and clearing readiness after each
    /// `WouldBlock`).
    ///
    /// # Errors
    ///
    /// What `f` returns, other than `WouldBlock`.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let mut guard = self.ready(interest).await?;
            if let Ok(res) = guard.try_io(|fd| f(fd.get_ref())) {
                return res;
            }
        }
    }

    /// Like [`async_io`](AsyncFd::async_io), with `&mut T`.
    ///
    /// # Errors
    ///
    /// What `f` returns, other than `WouldBlock`.
    pub async fn async_io_mut<R>(
        &mut self,
        interest: Interest,
        mut f: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let mut guard = self.ready_mut(interest).await?;
            if let Ok(res) = guard.try_io(|fd| f(fd.get_mut())) {
                return res;
            }
        }
    }
}

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    /// The readiness that the wait saw, minus what was cleared since.
    pub fn ready(&self) -> Ready {
        self.events.ready()
    }

    /// Clears the readiness this guard saw: the next wait parks until the
    /// reactor reports new readiness. Call it once the fd returned
    /// `WouldBlock`; readiness that arrived after the wait is kept.
    pub fn clear_ready(&mut self) {
        self.events
            .clear(self.async_fd.io.registration(), Ready::ALL);
    }

    /// Clears only the bits of `ready` (for example just `READABLE`, keeping
    /// `READ_CLOSED`).
    pub fn clear_ready_matching(&mut self, ready: Ready) {
        self.events.clear(self.async_fd.io.registration(), ready);
    }

    /// Drops the guard keeping the readiness (as dropping it does).
    pub fn retain_ready(self) {}

    /// Runs `f`; if it returns `WouldBlock`, clears the readiness and
    /// returns `Err(TryIoError)`, so the caller waits again.
    ///
    /// # Errors
    ///
    /// [`TryIoError`] if `f` would block; `Ok(result)` otherwise, with `f`'s
    /// own error inside.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.async_fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            res => Ok(res),
        }
    }

    /// The `AsyncFd` this guard borrows.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.async_fd
    }

    /// The object inside the `AsyncFd`.
    pub fn get_inner(&self) -> &'a T {
        self.async_fd.get_ref()
    }
}

impl<T: AsRawFd> AsyncFdReadyMutGuard<'_, T> {
    /// The readiness that the wait saw, minus what was cleared since.
    pub fn ready(&self) -> Ready {
        self.events.ready()
    }

    /// Clears the readiness this guard saw; see
    /// [`AsyncFdReadyGuard::clear_ready`].
    pub fn clear_ready(&mut self) {
        self.events
            .clear(self.async_fd.io.registration(), Ready::ALL);
    }

    /// Clears only the bits of `ready`.
    pub fn clear_ready_matching(&mut self, ready: Ready) {
        self.events.clear(self.async_fd.io.registration(), ready);
    }

    /// Drops the guard keeping the readiness.
    pub fn retain_ready(self) {}

    /// Runs `f` with `&mut AsyncFd`; if it returns `WouldBlock`, clears the
    /// readiness and returns `Err(TryIoError)`.
    ///
    /// # Errors
    ///
    /// [`TryIoError`] if `f` would block.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&mut AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.async_fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            res => Ok(res),
        }
    }

    /// The `AsyncFd` this guard borrows.
    pub fn get_ref(&self) -> &AsyncFd<T> {
        self.async_fd
    }

    /// The `AsyncFd` this guard borrows, mutably.
    pub fn get_mut(&mut self) -> &mut AsyncFd<T> {
        self.async_fd
    }

    /// The object inside the `AsyncFd`.
    pub fn get_inner(&self) -> &T {
        self.async_fd.get_ref()
    }

    /// The object inside the `AsyncFd`, mutably.
    pub fn get_inner_mut(&mut self) -> &mut T {
        self.async_fd.get_mut()
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the fd is open for as long as `self` (which owns `T`) is
        // borrowed.
        unsafe { BorrowedFd::borrow_raw(self.as_raw_fd()) }
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", self.get_ref())
            .finish()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("async_fd", self.async_fd)
            .field("ready", &self.ready())
            .finish()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFdReadyMutGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyMutGuard")
            .field("async_fd", &*self.async_fd)
            .field("ready", &self.ready())
            .finish()
    }
}
