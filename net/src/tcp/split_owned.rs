//! Owned halves of a [`TcpStream`]: [`TcpStream::into_split`].

use std::error::Error;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use runtime_reactor::Ready;

use crate::tcp::TcpStream;
use crate::Interest;

/// The read half of a [`TcpStream`], owned: it can move to another task.
/// Made by [`TcpStream::into_split`]; [`reunite`](OwnedReadHalf::reunite)
/// undoes the split.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::{TcpListener, TcpStream};
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let client = TcpStream::connect(listener.local_addr()?).await?;
/// let (mut server, _) = listener.accept().await?;
/// let (mut rd, mut wr) = client.into_split();
/// let writer = runtime::spawn(async move {
///     wr.write_all(b"ping").await?;
///     Ok::<_, std::io::Error>(wr)
/// });
/// let mut buf = [0u8; 4];
/// server.read_exact(&mut buf).await?;
/// let wr = writer.await.unwrap()?;
/// let client = rd.reunite(wr).expect("halves of one stream");
/// # drop(client);
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Arc<TcpStream>,
}

/// The write half of a [`TcpStream`], owned: it can move to another task.
/// Made by [`TcpStream::into_split`].
///
/// Dropping it shuts down the stream's write direction (the peer reads
/// EOF), as `close` does; [`forget`](OwnedWriteHalf::forget) drops it
/// without that.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    inner: Arc<TcpStream>,
    /// Whether dropping this half shuts down the write direction.
    shutdown_on_drop: bool,
}

/// The error of [`OwnedReadHalf::reunite`]: the two halves came from
/// different streams. Both are handed back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl Error for ReuniteError {}

pub(crate) fn split_owned(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let inner = Arc::new(stream);
    (
        OwnedReadHalf {
            inner: inner.clone(),
        },
        OwnedWriteHalf {
            inner,
            shutdown_on_drop: true,
        },
    )
}

impl OwnedReadHalf {
    /// Puts the halves back together into the stream they came from.
    ///
    /// # Errors
    ///
    /// [`ReuniteError`], carrying both halves, if `other` is the write half
    /// of another stream.
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Arc::ptr_eq(&self.inner, &other.inner) {
            return Err(ReuniteError(self, other));
        }
        other.forget();
        // Only the two halves held the Arc, and `other` is gone.
        Ok(Arc::try_unwrap(self.inner).expect("the halves held the only references"))
    }

    /// See [`TcpStream::peek`].
    ///
    /// # Errors
    ///
    /// The errors of `recv(2)`.
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.inner.poll_peek(cx, buf)).await
    }

    /// See [`TcpStream::poll_peek`].
    ///
    /// # Errors
    ///
    /// The errors of `recv(2)`.
    pub fn poll_peek(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_peek(cx, buf)
    }

    /// See [`TcpStream::ready`].
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.inner.ready(interest).await
    }

    /// See [`TcpStream::readable`].
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub async fn readable(&self) -> io::Result<()> {
        self.inner.readable().await
    }

    /// See [`TcpStream::try_read`].
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recv(2)`.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.try_read(buf)
    }

    /// See [`TcpStream::try_read_vectored`].
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recvmsg(2)`.
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.inner.try_read_vectored(bufs)
    }

    /// See [`TcpStream::try_read_buf`] (feature `bytes`).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recv(2)`.
    #[cfg(feature = "bytes")]
    pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.inner.try_read_buf(buf)
    }

    /// See [`TcpStream::peer_addr`].
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// See [`TcpStream::local_addr`].
    ///
    /// # Errors
    ///
    /// The errors of `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl OwnedWriteHalf {
    /// Puts the halves back together; see [`OwnedReadHalf::reunite`].
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] if the halves are from different streams.
    pub fn reunite(self, other: OwnedReadHalf) -> Result<TcpStream, ReuniteError> {
        other.reunite(self)
    }

    /// Drops this half *without* shutting down the write direction.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
        drop(self);
    }

    /// See [`TcpStream::ready`].
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.inner.ready(interest).await
    }

    /// See [`TcpStream::writable`].
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub async fn writable(&self) -> io::Result<()> {
        self.inner.writable().await
    }

    /// See [`TcpStream::try_write`].
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `send(2)`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.try_write(buf)
    }

    /// See [`TcpStream::try_write_vectored`].
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `sendmsg(2)`.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.try_write_vectored(bufs)
    }

    /// See [`TcpStream::peer_addr`].
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// See [`TcpStream::local_addr`].
    ///
    /// # Errors
    ///
    /// The errors of `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.inner.close_write();
        }
    }
}

impl AsRef<TcpStream> for OwnedReadHalf {
    fn as_ref(&self) -> &TcpStream {
        &self.inner
    }
}

impl AsRef<TcpStream> for OwnedWriteHalf {
    fn as_ref(&self) -> &TcpStream {
        &self.inner
    }
}

crate::macros::impl_async_read!(OwnedReadHalf, |s| s.inner);
crate::macros::impl_async_write!(OwnedWriteHalf, |s| s.inner);
#[cfg(feature = "tokio-io")]
crate::macros::impl_tokio_read!(OwnedReadHalf, |s| s.inner);
#[cfg(feature = "tokio-io")]
crate::macros::impl_tokio_write!(OwnedWriteHalf, |s| s.inner);
