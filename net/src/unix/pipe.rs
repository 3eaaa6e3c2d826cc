//! Unix pipes and FIFOs, registered with the reactor: a [`Sender`] (the
//! write end) and a [`Receiver`] (the read end), from [`pipe()`], from a
//! FIFO opened with [`OpenOptions`], or from an fd a child process or
//! another library handed over.
//!
//! Both ends are non-blocking; reads and writes wait for readiness as the
//! sockets' do. As on a stream socket, a short transfer clears readiness:
//! a pipe `read(2)` that returns fewer bytes than asked has emptied the
//! pipe, and a non-blocking `write(2)` that takes fewer than offered found
//! it full, so the `EAGAIN` call that would prove it again is skipped (the
//! kernel signals the next write into an empty pipe, and the first read
//! that makes room in a full one).
//!
//! Writing to a pipe whose read end is closed fails with `BrokenPipe`
//! (Rust programs ignore `SIGPIPE` from the start; a process that restored
//! its default action is killed by it, as with any `write(2)`). Reading
//! from a pipe with no writer left reads end of file (`Ok(0)`).
//!
//! ```
//! use runtime::io::{AsyncReadExt, AsyncWriteExt};
//! use runtime::net::unix::pipe;
//!
//! # runtime::Runtime::new().unwrap().block_on(async {
//! let (mut tx, mut rx) = pipe::pipe()?;
//! tx.write_all(b"hello").await?;
//! drop(tx); // the reader sees end of file after the bytes
//! let mut got = String::new();
//! rx.read_to_string(&mut got).await?;
//! assert_eq!(got, "hello");
//! # Ok::<_, std::io::Error>(())
//! # }).unwrap();
//! ```

use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::task::{Context, Poll};

use runtime_reactor::{Direction, Ready};

use crate::poll_evented::PollEvented;
use crate::sys::{self, pipe as ops};
use crate::Interest;

/// Creates an anonymous pipe: `(write end, read end)`, both non-blocking,
/// close-on-exec and registered.
///
/// To give an end to a child process, turn it back into a blocking fd with
/// [`Sender::into_blocking_fd`] or [`Receiver::into_blocking_fd`].
///
/// # Errors
///
/// Those of `pipe2(2)` (such as `EMFILE`) and of registering with the
/// reactor.
pub fn pipe() -> io::Result<(Sender, Receiver)> {
    let (read, write) = ops::pipe()?;
    Ok((
        Sender::from_owned_fd_unchecked(write)?,
        Receiver::from_owned_fd_unchecked(read)?,
    ))
}

/// How a FIFO (a named pipe, made with `mkfifo`) is opened: as a
/// [`Receiver`] with [`open_receiver`](OpenOptions::open_receiver) or a
/// [`Sender`] with [`open_sender`](OpenOptions::open_sender).
///
/// The file is opened non-blocking. A FIFO opened for writing only needs a
/// reader to exist already (otherwise `ENXIO`); one opened for reading
/// needs nothing, and reads end of file while no writer has it open.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    read_write: bool,
    unchecked: bool,
}

impl OpenOptions {
    /// Options that open the FIFO for the one direction of the end asked
    /// for, and check that the file is a FIFO.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Opens the FIFO for reading and writing (`O_RDWR`) whichever end is
    /// asked for (Linux only: POSIX leaves `O_RDWR` on a FIFO undefined).
    ///
    /// The process then holds both ends itself: a [`Sender`] opens without
    /// a reader, and a [`Receiver`] never reads end of file, even when the
    /// last other writer closes.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn read_write(&mut self, value: bool) -> &mut Self {
        self.read_write = value;
        self
    }

    /// Skips the check that the opened file is a FIFO (one `fstat(2)`).
    /// Anything else opened this way (a regular file, a character device)
    /// is polled as if it were a pipe, which the caller must know to work.
    pub fn unchecked(&mut self, value: bool) -> &mut Self {
        self.unchecked = value;
        self
    }

    /// Opens the FIFO at `path` as a [`Receiver`].
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the file is not a FIFO (unless
    /// [`unchecked`](OpenOptions::unchecked)), the errors of `open(2)`
    /// (`NotFound`, `PermissionDenied`, ...), and those of registering with
    /// the reactor.
    pub fn open_receiver<P: AsRef<Path>>(&self, path: P) -> io::Result<Receiver> {
        self.open(path.as_ref(), Direction::Read)
            .and_then(Receiver::from_owned_fd_unchecked)
    }

    /// Opens the FIFO at `path` as a [`Sender`].
    ///
    /// # Errors
    ///
    /// `ENXIO` (raw OS error) if no process has the FIFO open for reading
    /// (unless [`read_write`](OpenOptions::read_write)), `InvalidInput` if
    /// the file is not a FIFO (unless [`unchecked`](OpenOptions::unchecked)),
    /// the other errors of `open(2)`, and those of registering with the
    /// reactor.
    pub fn open_sender<P: AsRef<Path>>(&self, path: P) -> io::Result<Sender> {
        self.open(path.as_ref(), Direction::Write)
            .and_then(Sender::from_owned_fd_unchecked)
    }

    fn open(&self, path: &Path, end: Direction) -> io::Result<OwnedFd> {
        let mut options = std::fs::OpenOptions::new();
        options
            .read(end == Direction::Read)
            .write(end == Direction::Write)
            .custom_flags(libc::O_NONBLOCK);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if self.read_write {
            options.read(true).write(true);
        }
        let fd = OwnedFd::from(options.open(path)?);
        if !self.unchecked && !ops::is_fifo(fd.as_raw_fd())? {
            return Err(not_a_pipe());
        }
        Ok(fd)
    }
}

fn not_a_pipe() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "not a pipe or a FIFO")
}

/// Checks that `fd` is a pipe open in `end`'s direction and makes it
/// non-blocking.
fn checked(fd: OwnedFd, end: Direction) -> io::Result<OwnedFd> {
    let raw = fd.as_raw_fd();
    if !ops::is_fifo(raw)? {
        return Err(not_a_pipe());
    }
    let flags = ops::status_flags(raw)?;
    let (ok, msg) = match end {
        Direction::Read => (ops::can_read(flags), "pipe not open for reading"),
        Direction::Write => (ops::can_write(flags), "pipe not open for writing"),
    };
    if !ok {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
    }
    ops::set_nonblocking(raw, true)?;
    Ok(fd)
}

/// The write end of a pipe or FIFO.
///
/// Written through [`AsyncWrite`](futures_io::AsyncWrite) (and tokio's,
/// with the `tokio-io` feature) or [`try_write`](Sender::try_write) after
/// [`writable`](Sender::writable). Closing the write direction means
/// dropping the `Sender`: `close()` (tokio's `shutdown()`) does nothing, as
/// there is nothing buffered to push out.
pub struct Sender {
    io: PollEvented<OwnedFd>,
}

/// The read end of a pipe or FIFO.
///
/// Read through [`AsyncRead`](futures_io::AsyncRead) (and tokio's, with
/// the `tokio-io` feature) or [`try_read`](Receiver::try_read) after
/// [`readable`](Receiver::readable).
pub struct Receiver {
    io: PollEvented<OwnedFd>,
}

/// What the two ends share; `$dir` is the end's one direction.
macro_rules! pipe_end {
    ($ty:ident, $dir:expr, $what:literal) => {
        impl $ty {
            #[doc = concat!("A ", $what, " from a `File` (such as a FIFO opened with `std`'s")]
            /// `OpenOptions`), after checking that it is a pipe open in
            /// this end's direction; it is made non-blocking.
            ///
            /// # Errors
            ///
            /// `InvalidInput` if it is not a pipe or a FIFO, or not open in
            /// this end's direction; the errors of `fstat(2)`, `fcntl(2)`
            /// and of registering with the reactor.
            pub fn from_file(file: File) -> io::Result<$ty> {
                $ty::from_owned_fd(file.into())
            }

            #[doc = concat!("A ", $what, " from an fd, checked as")]
            #[doc = concat!("[`from_file`](", stringify!($ty), "::from_file) checks a file.")]
            ///
            /// # Errors
            ///
            /// As [`from_file`](Self::from_file).
            pub fn from_owned_fd(fd: OwnedFd) -> io::Result<$ty> {
                checked(fd, $dir).and_then($ty::from_owned_fd_unchecked)
            }

            #[doc = concat!("A ", $what, " from a `File` with no checks: the caller")]
            /// knows it is a pipe end, open in this direction, and already
            /// non-blocking (a blocking fd would block a worker thread).
            ///
            /// # Errors
            ///
            /// Only those of registering with the reactor.
            pub fn from_file_unchecked(file: File) -> io::Result<$ty> {
                $ty::from_owned_fd_unchecked(file.into())
            }

            #[doc = concat!("A ", $what, " from an fd with no checks, as")]
            #[doc = concat!("[`from_file_unchecked`](", stringify!($ty), "::from_file_unchecked).")]
            ///
            /// # Errors
            ///
            /// Only those of registering with the reactor.
            pub fn from_owned_fd_unchecked(fd: OwnedFd) -> io::Result<$ty> {
                Ok($ty {
                    io: PollEvented::new(fd)?,
                })
            }

            /// Waits until the pipe is ready in any direction of
            /// `interest` and returns the ready bits (also `READ_CLOSED`
            /// or `WRITE_CLOSED` once the other end is gone). It may wake
            /// without the operation being possible: the next `try_`
            /// call then returns `WouldBlock`.
            ///
            /// # Cancel safety
            ///
            /// Cancel-safe: readiness found stays until an operation
            /// consumes it.
            ///
            /// # Errors
            ///
            /// Only if the pipe was deregistered.
            pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
                self.io.ready(interest).await
            }

            /// The fd, deregistered and made blocking again: what a child
            /// process expects as its standard stream.
            ///
            /// # Errors
            ///
            /// Those of `fcntl(2)` (the fd is closed then).
            pub fn into_blocking_fd(self) -> io::Result<OwnedFd> {
                let fd = self.io.into_inner();
                ops::set_nonblocking(fd.as_raw_fd(), false)?;
                Ok(fd)
            }

            /// The fd, deregistered and still non-blocking.
            ///
            /// # Errors
            ///
            /// None today; a `Result` as in tokio.
            pub fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
                Ok(self.io.into_inner())
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("fd", &self.io.get_ref().as_raw_fd())
                    .finish()
            }
        }

        crate::macros::impl_as_fd!($ty, |s| s.io.get_ref());
    };
}

pipe_end!(Sender, Direction::Write, "`Sender`");
pipe_end!(Receiver, Direction::Read, "`Receiver`");

impl Sender {
    /// Waits until the pipe may be writable.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    ///
    /// # Errors
    ///
    /// Only if the pipe was deregistered.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready_in(Direction::Write).await
    }

    /// Polls for write readiness; `Ready(Ok(()))` when the pipe may be
    /// writable. Only the last task to poll is woken.
    ///
    /// # Errors
    ///
    /// Only if the pipe was deregistered.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write).map_ok(drop)
    }

    /// Writes without waiting; `WouldBlock` if the pipe is full.
    ///
    /// A write of up to `PIPE_BUF` bytes (at least 512; 4096 on Linux) is
    /// atomic: all of it or, if it does not fit, `WouldBlock`. A longer
    /// one may be short.
    ///
    /// # Errors
    ///
    /// `WouldBlock`; `BrokenPipe` once no reader is left; the other errors
    /// of `write(2)`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        try_transfer(&self.io, Direction::Write, buf.len(), |fd| {
            ops::write(fd, buf)
        })
    }

    /// Writes several buffers (`writev(2)`, the first `IOV_MAX` of them)
    /// without waiting.
    ///
    /// # Errors
    ///
    /// As [`try_write`](Sender::try_write).
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        try_transfer(&self.io, Direction::Write, vectored_len(bufs), |fd| {
            ops::writev(fd, bufs)
        })
    }

    pub(crate) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        transfer(&self.io, cx, Direction::Write, buf.len(), |fd| {
            ops::write(fd, buf)
        })
    }

    pub(crate) fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // Only what one `writev` is given counts: a longer list is short
        // by design, not because the pipe filled.
        let len = vectored_len(bufs);
        transfer(&self.io, cx, Direction::Write, len, |fd| {
            ops::writev(fd, bufs)
        })
    }

    /// `close()`/`shutdown()`: nothing to do; the pipe closes on drop.
    pub(crate) fn close_write(&self) -> io::Result<()> {
        Ok(())
    }
}

impl Receiver {
    /// Waits until the pipe may be readable (data, or no writer left).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    ///
    /// # Errors
    ///
    /// Only if the pipe was deregistered.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready_in(Direction::Read).await
    }

    /// Polls for read readiness; `Ready(Ok(()))` when the pipe may be
    /// readable. Only the last task to poll is woken.
    ///
    /// # Errors
    ///
    /// Only if the pipe was deregistered.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read).map_ok(drop)
    }

    /// Reads without waiting; `WouldBlock` if the pipe is empty and a
    /// writer remains, `Ok(0)` at end of file (or for an empty `buf`).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `read(2)`.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        try_transfer(&self.io, Direction::Read, buf.len(), |fd| {
            ops::read(fd, buf)
        })
    }

    /// Reads without waiting into `buf`'s spare capacity (its
    /// `chunk_mut`) and advances `buf` by the bytes read (feature `bytes`):
    /// the kernel writes straight into the capacity, nothing is zeroed
    /// first. `Ok(0)` is end of file, or a `buf` with no spare capacity.
    ///
    /// # Errors
    ///
    /// As [`try_read`](Receiver::try_read).
    #[cfg(feature = "bytes")]
    pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        // SAFETY: `read_uninit` is `read(2)`, which writes only the bytes
        // it returns, all of them initialised.
        let (n, ()) = unsafe {
            crate::buf::fill(buf, |dst| {
                if dst.is_empty() {
                    return Ok((0, ()));
                }
                self.io
                    .try_io(Direction::Read, |fd| ops::read_uninit(fd.as_raw_fd(), dst))
                    .map(|n| (n, ()))
            })
        }?;
        Ok(n)
    }

    /// Reads into several buffers (`readv(2)`, the first `IOV_MAX` of
    /// them) without waiting.
    ///
    /// # Errors
    ///
    /// As [`try_read`](Receiver::try_read).
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let len = sys::io::recv_vectored_len(bufs);
        try_transfer(&self.io, Direction::Read, len, |fd| ops::readv(fd, bufs))
    }

    pub(crate) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        transfer(&self.io, cx, Direction::Read, len, |fd| ops::read(fd, buf))
    }

    #[cfg(feature = "tokio-io")]
    pub(crate) fn poll_read_uninit_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        transfer(&self.io, cx, Direction::Read, len, |fd| {
            ops::read_uninit(fd, buf)
        })
    }

    pub(crate) fn poll_read_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        // `recv_vectored_len` counts the same first `IOV_MAX` buffers
        // that `readv` is given.
        let len = sys::io::recv_vectored_len(bufs);
        transfer(&self.io, cx, Direction::Read, len, |fd| {
            ops::readv(fd, bufs)
        })
    }
}

/// A transfer of `len` bytes in `direction` by `op` (a `read`/`write`
/// family call on the fd), once the pipe is ready: nothing for `len` 0, and
/// a short transfer clears readiness (see the module docs).
fn transfer(
    io: &PollEvented<OwnedFd>,
    cx: &mut Context<'_>,
    direction: Direction,
    len: usize,
    mut op: impl FnMut(RawFd) -> io::Result<usize>,
) -> Poll<io::Result<usize>> {
    if len == 0 {
        return Poll::Ready(Ok(0));
    }
    let fd = io.get_ref().as_raw_fd();
    io.registration()
        .poll_stream_io(cx, direction, len, || op(fd))
}

/// [`transfer`] without waiting: `WouldBlock` unless the pipe looks ready
/// (and then only a `WouldBlock` from `op` clears readiness).
fn try_transfer(
    io: &PollEvented<OwnedFd>,
    direction: Direction,
    len: usize,
    mut op: impl FnMut(RawFd) -> io::Result<usize>,
) -> io::Result<usize> {
    if len == 0 {
        return Ok(0);
    }
    io.try_io(direction, |fd| op(fd.as_raw_fd()))
}

/// The bytes one `writev` of `bufs` is given (the first `IOV_MAX`).
fn vectored_len(bufs: &[IoSlice<'_>]) -> usize {
    bufs[..bufs.len().min(sys::io::IOV_MAX)]
        .iter()
        .fold(0usize, |n, b| n.saturating_add(b.len()))
}

crate::macros::impl_async_read!(Receiver, |s| s);
crate::macros::impl_async_write!(Sender, |s| s);
#[cfg(feature = "tokio-io")]
crate::macros::impl_tokio_read!(Receiver, |s| s);
#[cfg(feature = "tokio-io")]
crate::macros::impl_tokio_write!(Sender, |s| s);

crate::custom_io::impl_custom_io!(Sender, "pipe end");
crate::custom_io::impl_custom_io!(Receiver, "pipe end");
