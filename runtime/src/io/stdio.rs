//! The standard streams: [`stdin`], [`stdout`], [`stderr`].
//!
//! As in tokio, each operation runs on the blocking pool (see the private
//! `blocking` module): a terminal, a file or a pipe behind fd 0, 1 or 2
//! is read and written with plain blocking calls, whatever it is, and the
//! fds are never switched to non-blocking mode (which would also change
//! them for every other process sharing them).

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::blocking::Blocking;
use super::{AsyncRead, AsyncWrite};

/// The process's standard input, made by [`stdin`].
///
/// Each read runs a blocking `read` on the blocking pool, into a buffer as
/// large as the caller's (at most 2 MiB), and returns what it got.
///
/// A read that is cancelled goes on running on the pool; the bytes it
/// gets are kept for the next read of this `Stdin`, so none are lost. They
/// are lost if the `Stdin` is dropped meanwhile, and a thread of the pool
/// stays blocked until input arrives; a runtime shutting down does not
/// wait for it (see [`Runtime::shutdown_timeout`](crate::Runtime::shutdown_timeout)).
/// For interactive input that must stop, read on a thread of your own and
/// send the lines over a channel.
pub struct Stdin {
    inner: Blocking<io::Stdin>,
}

/// The process's standard output, made by [`stdout`].
///
/// A write copies up to 2 MiB of the caller's bytes, starts a blocking
/// write of them on the blocking pool, and returns at once; an error of
/// that write comes back from the next write or `flush`. Writes are
/// written in order, and **`flush().await` is needed** before the process
/// exits (or before reading a reply to what was written) to be sure that
/// the bytes reached the OS; std's line buffering of stdout applies too, so
/// the flush also pushes out a partial line.
///
/// Writes from concurrent tasks through separate handles may interleave at
/// any byte boundary; write whole lines (`write_all`) from one task, or
/// share one handle through a lock.
pub struct Stdout {
    inner: Blocking<io::Stdout>,
}

/// The process's standard error, made by [`stderr`]; it behaves as
/// [`Stdout`] does, unbuffered by std.
pub struct Stderr {
    inner: Blocking<io::Stderr>,
}

/// A handle to the process's standard input (see [`Stdin`]).
///
/// # Panics
///
/// Reading from it outside a runtime panics (the read runs on the
/// runtime's blocking pool).
///
/// # Examples
///
/// ```no_run
/// use runtime::io::{AsyncBufReadExt, BufReader};
///
/// # async fn lines() -> std::io::Result<()> {
/// let mut input = BufReader::new(runtime::io::stdin());
/// let mut line = String::new();
/// while input.read_line(&mut line).await? > 0 {
///     print!("got {line}");
///     line.clear();
/// }
/// # Ok(()) }
/// ```
pub fn stdin() -> Stdin {
    Stdin {
        inner: Blocking::new(io::stdin()),
    }
}

/// A handle to the process's standard output (see [`Stdout`]).
///
/// # Panics
///
/// Writing to it outside a runtime panics (the write runs on the runtime's
/// blocking pool).
///
/// # Examples
///
/// ```
/// use runtime::io::AsyncWriteExt;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let mut out = runtime::io::stdout();
/// out.write_all(b"hello, world\n").await?;
/// out.flush().await?; // the bytes have reached the OS
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub fn stdout() -> Stdout {
    Stdout {
        inner: Blocking::new(io::stdout()),
    }
}

/// A handle to the process's standard error (see [`Stderr`]).
///
/// # Panics
///
/// Writing to it outside a runtime panics.
///
/// # Examples
///
/// ```
/// use runtime::io::AsyncWriteExt;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let mut err = runtime::io::stderr();
/// err.write_all(b"warning: low on coffee\n").await?;
/// err.flush().await?;
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub fn stderr() -> Stderr {
    Stderr {
        inner: Blocking::new(io::stderr()),
    }
}

impl AsyncRead for Stdin {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_read(cx, buf)
    }
}

macro_rules! impl_write {
    ($ty:ty) => {
        impl AsyncWrite for $ty {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_write(cx, buf)
            }

            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.inner.poll_flush(cx)
            }

            /// Flushes; the standard stream itself stays open.
            fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.inner.poll_flush(cx)
            }
        }
    };
}
impl_write!(Stdout);
impl_write!(Stderr);

macro_rules! impl_fd_and_debug {
    ($ty:ty, $fd:expr, $name:literal) => {
        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                $fd
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                // SAFETY: the standard fds stay open for the life of the
                // process (std never closes them).
                unsafe { BorrowedFd::borrow_raw($fd) }
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(concat!($name, " { .. }"))
            }
        }
    };
}
impl_fd_and_debug!(Stdin, libc::STDIN_FILENO, "Stdin");
impl_fd_and_debug!(Stdout, libc::STDOUT_FILENO, "Stdout");
impl_fd_and_debug!(Stderr, libc::STDERR_FILENO, "Stderr");
