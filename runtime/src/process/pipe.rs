//! The parent's ends of a child's standard streams: `net::unix::pipe`'s
//! non-blocking, registered pipe ends under tokio's names.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use runtime_net::unix::pipe::{Receiver, Sender};

use crate::io::{AsyncRead, AsyncWrite};

macro_rules! pipe_type {
    ($(#[$doc:meta])* $name:ident, $std:ty, $end:ident) => {
        $(#[$doc])*
        pub struct $name($end);

        impl $name {
            /// Wraps `std`'s end of the pipe (made non-blocking and
            /// registered with the reactor).
            ///
            /// # Errors
            ///
            /// Those of `fstat(2)` and `fcntl(2)`, `InvalidInput` if the
            /// fd is not a pipe (which `std` never gives), and those of
            /// registering with the reactor.
            pub fn from_std(std: $std) -> io::Result<$name> {
                $end::from_owned_fd(OwnedFd::from(std)).map($name)
            }

            /// The pipe's fd, deregistered and made blocking again.
            ///
            /// # Errors
            ///
            /// Those of `fcntl(2)`.
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.0.into_blocking_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.0.as_raw_fd()
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.0.as_fd()
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
    std::process::ChildStdin,
    Sender
);
pipe_type!(
    /// The child's standard output ([`Child::stdout`](super::Child::stdout)),
    /// read with [`AsyncRead`].
    ChildStdout,
    std::process::ChildStdout,
    Receiver
);
pipe_type!(
    /// The child's standard error ([`Child::stderr`](super::Child::stderr)),
    /// read with [`AsyncRead`].
    ChildStderr,
    std::process::ChildStderr,
    Receiver
);

impl AsyncWrite for ChildStdin {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
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
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncRead for ChildStderr {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

crate::io::tokio_traits::tokio_write!(ChildStdin);
crate::io::tokio_traits::tokio_read!(ChildStdout);
crate::io::tokio_traits::tokio_read!(ChildStderr);
