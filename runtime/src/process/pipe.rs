//! The parent's ends of a child's standard streams: non-blocking pipes
//! registered with the reactor.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{ready, Context, Poll};

use runtime_net::async_fd::AsyncFd;

use crate::io::{AsyncRead, AsyncWrite};

/// One end of a pipe. A `File` only as the owner of the fd: `&File` reads
/// and writes with `read(2)`/`write(2)`, which is all a pipe needs.
struct Pipe(AsyncFd<File>);

impl Pipe {
    fn new(fd: OwnedFd) -> io::Result<Pipe> {
        set_nonblocking(fd.as_raw_fd(), true)?;
        Ok(Pipe(AsyncFd::new(File::from(fd))?))
    }

    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.0.poll_read_ready(cx))?;
            if let Ok(res) = guard.try_io(|fd| fd.get_ref().read(buf)) {
                return Poll::Ready(res);
            }
        }
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.0.poll_write_ready(cx))?;
            if let Ok(res) = guard.try_io(|fd| fd.get_ref().write(buf)) {
                return Poll::Ready(res);
            }
        }
    }

    /// The fd, deregistered and blocking again (to hand to another child).
    fn into_owned_fd(self) -> io::Result<OwnedFd> {
        let fd = OwnedFd::from(self.0.into_inner());
        set_nonblocking(fd.as_raw_fd(), false)?;
        Ok(fd)
    }
}

fn set_nonblocking(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: `fcntl` on an fd this process owns, with integer arguments.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

macro_rules! pipe_type {
    ($(#[$doc:meta])* $name:ident, $std:ty) => {
        $(#[$doc])*
        pub struct $name(Pipe);

        impl $name {
            /// Wraps `std`'s end of the pipe (made non-blocking and
            /// registered with the reactor).
            ///
            /// # Errors
            ///
            /// Those of `fcntl(2)` and of registering with the reactor.
            pub fn from_std(std: $std) -> io::Result<$name> {
                Pipe::new(OwnedFd::from(std)).map($name)
            }

            /// The pipe's fd, deregistered and made blocking again.
            ///
            /// # Errors
            ///
            /// Those of `fcntl(2)`.
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.0.into_owned_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.0 .0.as_raw_fd()
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.0 .0.get_ref().as_fd()
            }
        }

        /// The pipe as another child's standard stream (blocking again, as
        /// a child expects).
        impl TryFrom<$name> for Stdio {
            type Error = io::Error;

            fn try_from(pipe: $name) -> io::Result<Stdio> {
                pipe.into_owned_fd().map(Stdio::from)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.as_raw_fd()).finish()
            }
        }
    };
}

pipe_type!(
    /// The child's standard input ([`Child::stdin`](super::Child::stdin)):
    /// written with [`AsyncWrite`]; dropping it closes the pipe, and the
    /// child reads end of file.
    ChildStdin,
    std::process::ChildStdin
);
pipe_type!(
    /// The child's standard output ([`Child::stdout`](super::Child::stdout)),
    /// read with [`AsyncRead`].
    ChildStdout,
    std::process::ChildStdout
);
pipe_type!(
    /// The child's standard error ([`Child::stderr`](super::Child::stderr)),
    /// read with [`AsyncRead`].
    ChildStderr,
    std::process::ChildStderr
);

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Nothing to do (a pipe buffers nothing here); the pipe closes when
    /// the `ChildStdin` is dropped, as tokio's does.
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for ChildStdout {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_read(cx, buf)
    }
}

impl AsyncRead for ChildStderr {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_read(cx, buf)
    }
}

crate::io::tokio_traits::tokio_write!(ChildStdin);
crate::io::tokio_traits::tokio_read!(ChildStdout);
crate::io::tokio_traits::tokio_read!(ChildStderr);
