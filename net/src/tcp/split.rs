//! Borrowed halves of a [`TcpStream`]: [`TcpStream::split`].

use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::task::{Context, Poll};

use runtime_reactor::Ready;

use crate::tcp::TcpStream;
use crate::Interest;

/// The read half of a [`TcpStream`], borrowed from it by
/// [`TcpStream::split`].
///
/// Reads go through [`futures_io::AsyncRead`]; the methods here are the
/// stream's own read-side methods.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::{TcpListener, TcpStream};
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let mut client = TcpStream::connect(listener.local_addr()?).await?;
/// let (mut server, _) = listener.accept().await?;
/// let (mut rd, mut wr) = TcpStream::split(&mut server);
/// client.write_all(b"echo").await?;
/// let mut buf = [0u8; 4];
/// rd.read_exact(&mut buf).await?;
/// wr.write_all(&buf).await?;
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);

/// The write half of a [`TcpStream`], borrowed from it by
/// [`TcpStream::split`].
///
/// Writes go through [`futures_io::AsyncWrite`]; `close` shuts down the
/// stream's write direction.
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);

pub(crate) fn split(stream: &mut TcpStream) -> (ReadHalf<'_>, WriteHalf<'_>) {
    (ReadHalf(stream), WriteHalf(stream))
}

impl ReadHalf<'_> {
    /// See [`TcpStream::peek`].
    ///
    /// # Errors
    ///
    /// The errors of `recv(2)`.
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.0.poll_peek(cx, buf)).await
    }

    /// See [`TcpStream::poll_peek`].
    ///
    /// # Errors
    ///
    /// The errors of `recv(2)`.
    pub fn poll_peek(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.0.poll_peek(cx, buf)
    }

    /// See [`TcpStream::ready`].
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.0.ready(interest).await
    }

    /// See [`TcpStream::readable`].
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub async fn readable(&self) -> io::Result<()> {
        self.0.readable().await
    }

    /// See [`TcpStream::try_read`].
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recv(2)`.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }

    /// See [`TcpStream::try_read_vectored`].
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recvmsg(2)`.
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.0.try_read_vectored(bufs)
    }

    /// See [`TcpStream::try_read_buf`] (feature `bytes`).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recv(2)`.
    #[cfg(feature = "bytes")]
    pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.0.try_read_buf(buf)
    }

    /// See [`TcpStream::peer_addr`].
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    /// See [`TcpStream::local_addr`].
    ///
    /// # Errors
    ///
    /// The errors of `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl WriteHalf<'_> {
    /// See [`TcpStream::ready`].
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.0.ready(interest).await
    }

    /// See [`TcpStream::writable`].
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub async fn writable(&self) -> io::Result<()> {
        self.0.writable().await
    }

    /// See [`TcpStream::try_write`].
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `send(2)`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    /// See [`TcpStream::try_write_vectored`].
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `sendmsg(2)`.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    /// See [`TcpStream::peer_addr`].
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    /// See [`TcpStream::local_addr`].
    ///
    /// # Errors
    ///
    /// The errors of `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl AsRef<TcpStream> for ReadHalf<'_> {
    fn as_ref(&self) -> &TcpStream {
        self.0
    }
}

impl AsRef<TcpStream> for WriteHalf<'_> {
    fn as_ref(&self) -> &TcpStream {
        self.0
    }
}

crate::macros::impl_async_read!(ReadHalf<'_>, |s| s.0);
crate::macros::impl_async_write!(WriteHalf<'_>, |s| s.0);
#[cfg(feature = "tokio-io")]
crate::macros::impl_tokio_read!(ReadHalf<'_>, |s| s.0);
#[cfg(feature = "tokio-io")]
crate::macros::impl_tokio_write!(WriteHalf<'_>, |s| s.0);
