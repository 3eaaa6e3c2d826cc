//! [`split`]: one reader-writer as a read half and a write half that can be
//! used from different tasks.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::io::AsyncReadExt as _;

use super::{AsyncRead, AsyncWrite};

/// The read half of a stream split by [`split`].
pub struct ReadHalf<T>(futures_util::io::ReadHalf<T>);

/// The write half of a stream split by [`split`].
pub struct WriteHalf<T>(futures_util::io::WriteHalf<T>);

/// Splits a stream into a read half and a write half, which can move to
/// different tasks; [`ReadHalf::unsplit`] puts them back together.
///
/// The halves share the stream through a lock: an operation of one half
/// waits while the other half is in the middle of one (each poll takes the
/// lock for just that poll). For a [`TcpStream`](crate::net::TcpStream) or
/// [`UnixStream`](crate::net::UnixStream), prefer their own `split` (borrowed
/// halves) or `into_split` (owned halves): they need no lock, because the
/// socket reads and writes independently.
///
/// This is the function to call for a generic stream. (The `split` of
/// `futures-util`'s `AsyncReadExt` does the same with `futures-util`'s half
/// types; `runtime::io::AsyncReadExt` has no `split` method, so that
/// `stream.split()` on a socket is the socket's own, as in tokio.)
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (a, mut b) = runtime::io::duplex(64);
/// let (mut rd, mut wr) = runtime::io::split(a);
/// let writer = runtime::spawn(async move {
///     wr.write_all(b"hi").await?;
///     Ok::<_, std::io::Error>(wr)
/// });
/// let mut buf = [0u8; 2];
/// b.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"hi");
/// let wr = writer.await.unwrap()?;
/// assert!(rd.is_pair_of(&wr));
/// let _a = rd.unsplit(wr); // the stream again
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub fn split<T>(stream: T) -> (ReadHalf<T>, WriteHalf<T>)
where
    T: AsyncRead + AsyncWrite,
{
    let (read, write) = stream.split();
    (ReadHalf(read), WriteHalf(write))
}

impl<T> ReadHalf<T> {
    /// Whether `other` is the write half split from the same stream as this
    /// one.
    pub fn is_pair_of(&self, other: &WriteHalf<T>) -> bool {
        self.0.is_pair_of(&other.0)
    }

    /// Puts the two halves back together into the stream.
    ///
    /// # Panics
    ///
    /// If `wr` was not split from the same stream as `self` (as tokio's
    /// `unsplit` does).
    pub fn unsplit(self, wr: WriteHalf<T>) -> T
    where
        T: Unpin,
    {
        match self.0.reunite(wr.0) {
            Ok(stream) => stream,
            Err(_) => panic!("`ReadHalf::unsplit` called with the write half of another stream"),
        }
    }
}

impl<T> WriteHalf<T> {
    /// Whether `other` is the read half split from the same stream as this
    /// one.
    pub fn is_pair_of(&self, other: &ReadHalf<T>) -> bool {
        self.0.is_pair_of(&other.0)
    }
}

impl<T: AsyncRead> AsyncRead for ReadHalf<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read_vectored(cx, bufs)
    }
}

impl<T: AsyncWrite> AsyncWrite for WriteHalf<T> {
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
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

impl<T> fmt::Debug for ReadHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("ReadHalf { .. }")
    }
}

impl<T> fmt::Debug for WriteHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("WriteHalf { .. }")
    }
}
