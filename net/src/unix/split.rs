//! The halves of a [`UnixStream`]: borrowed ([`UnixStream::split`]) and
//! owned ([`UnixStream::into_split`]), as for
//! [`TcpStream`](crate::TcpStream).

use std::error::Error;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::sync::Arc;

use runtime_reactor::Ready;

use crate::unix::{SocketAddr, UnixStream};
use crate::Interest;

/// The read half of a [`UnixStream`], borrowed by [`UnixStream::split`].
///
/// Reads go through [`futures_io::AsyncRead`].
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::UnixStream;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (mut a, mut b) = UnixStream::pair()?;
/// let (mut rd, mut wr) = a.split();
/// b.write_all(b"ping").await?;
/// let mut buf = [0u8; 4];
/// rd.read_exact(&mut buf).await?;
/// wr.write_all(&buf).await?;
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a UnixStream);

/// The write half of a [`UnixStream`], borrowed by [`UnixStream::split`].
///
/// Writes go through [`futures_io::AsyncWrite`]; `close` shuts down the
/// stream's write direction.
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a UnixStream);

/// The read half of a [`UnixStream`], owned, made by
/// [`UnixStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Arc<UnixStream>,
}

/// The write half of a [`UnixStream`], owned, made by
/// [`UnixStream::into_split`]. Dropping it shuts down the write direction
/// (the peer reads EOF), unless it is [`forget`](OwnedWriteHalf::forget)ten.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    inner: Arc<UnixStream>,
    shutdown_on_drop: bool,
}

/// The halves given to [`OwnedReadHalf::reunite`] were not split from the
/// same stream; they are handed back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl Error for ReuniteError {}

pub(crate) fn split(stream: &mut UnixStream) -> (ReadHalf<'_>, WriteHalf<'_>) {
    (ReadHalf(stream), WriteHalf(stream))
}

pub(crate) fn split_owned(stream: UnixStream) -> (OwnedReadHalf, OwnedWriteHalf) {
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

/// The read-side methods every read half shares.
macro_rules! read_methods {
    () => {
        /// See [`UnixStream::ready`].
        ///
        /// # Errors
        ///
        /// Only if the stream was deregistered.
        pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
            self.stream().ready(interest).await
        }

        /// See [`UnixStream::readable`].
        ///
        /// # Errors
        ///
        /// Only if the stream was deregistered.
        pub async fn readable(&self) -> io::Result<()> {
            self.stream().readable().await
        }

        /// See [`UnixStream::try_read`].
        ///
        /// # Errors
        ///
        /// `WouldBlock`, or the errors of `recv(2)`.
        pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
            self.stream().try_read(buf)
        }

        /// See [`UnixStream::try_read_vectored`].
        ///
        /// # Errors
        ///
        /// `WouldBlock`, or the errors of `recvmsg(2)`.
        pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
            self.stream().try_read_vectored(bufs)
        }

        /// See [`UnixStream::try_read_buf`] (feature `bytes`).
        ///
        /// # Errors
        ///
        /// `WouldBlock`, or the errors of `recv(2)`.
        #[cfg(feature = "bytes")]
        pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
            self.stream().try_read_buf(buf)
        }

        /// See [`UnixStream::peer_addr`].
        ///
        /// # Errors
        ///
        /// The errors of `getpeername(2)`.
        pub fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.stream().peer_addr()
        }

        /// See [`UnixStream::local_addr`].
        ///
        /// # Errors
        ///
        /// The errors of `getsockname(2)`.
        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            self.stream().local_addr()
        }
    };
}

/// The write-side methods every write half shares.
macro_rules! write_methods {
    () => {
        /// See [`UnixStream::ready`].
        ///
        /// # Errors
        ///
        /// Only if the stream was deregistered.
        pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
            self.stream().ready(interest).await
        }

        /// See [`UnixStream::writable`].
        ///
        /// # Errors
        ///
        /// Only if the stream was deregistered.
        pub async fn writable(&self) -> io::Result<()> {
            self.stream().writable().await
        }

        /// See [`UnixStream::try_write`].
        ///
        /// # Errors
        ///
        /// `WouldBlock`, or the errors of `send(2)`.
        pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
            self.stream().try_write(buf)
        }

        /// See [`UnixStream::try_write_vectored`].
        ///
        /// # Errors
        ///
        /// `WouldBlock`, or the errors of `sendmsg(2)`.
        pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.stream().try_write_vectored(bufs)
        }

        /// See [`UnixStream::peer_addr`].
        ///
        /// # Errors
        ///
        /// The errors of `getpeername(2)`.
        pub fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.stream().peer_addr()
        }

        /// See [`UnixStream::local_addr`].
        ///
        /// # Errors
        ///
        /// The errors of `getsockname(2)`.
        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            self.stream().local_addr()
        }
    };
}

impl ReadHalf<'_> {
    fn stream(&self) -> &UnixStream {
        self.0
    }
    read_methods!();
}

impl WriteHalf<'_> {
    fn stream(&self) -> &UnixStream {
        self.0
    }
    write_methods!();
}

impl OwnedReadHalf {
    fn stream(&self) -> &UnixStream {
        &self.inner
    }
    read_methods!();

    /// Puts the halves back together into the stream, or hands both back
    /// in the error if they come from different streams.
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] if `other` is not this half's partner.
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<UnixStream, ReuniteError> {
        if !Arc::ptr_eq(&self.inner, &other.inner) {
            return Err(ReuniteError(self, other));
        }
        other.forget();
        // Only the two halves held the Arc, and `other` is gone.
        Ok(Arc::try_unwrap(self.inner).expect("the halves held the only references"))
    }
}

impl OwnedWriteHalf {
    fn stream(&self) -> &UnixStream {
        &self.inner
    }
    write_methods!();

    /// See [`OwnedReadHalf::reunite`].
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] if `other` is not this half's partner.
    pub fn reunite(self, other: OwnedReadHalf) -> Result<UnixStream, ReuniteError> {
        other.reunite(self)
    }

    /// Drops the half without shutting down the write direction.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
        drop(self);
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.inner.close_write();
        }
    }
}

impl AsRef<UnixStream> for ReadHalf<'_> {
    fn as_ref(&self) -> &UnixStream {
        self.0
    }
}

impl AsRef<UnixStream> for WriteHalf<'_> {
    fn as_ref(&self) -> &UnixStream {
        self.0
    }
}

impl AsRef<UnixStream> for OwnedReadHalf {
    fn as_ref(&self) -> &UnixStream {
        &self.inner
    }
}

impl AsRef<UnixStream> for OwnedWriteHalf {
    fn as_ref(&self) -> &UnixStream {
        &self.inner
    }
}

crate::macros::impl_async_read!(ReadHalf<'_>, |s| s.0);
crate::macros::impl_async_write!(WriteHalf<'_>, |s| s.0);
crate::macros::impl_async_read!(OwnedReadHalf, |s| s.inner);
crate::macros::impl_async_write!(OwnedWriteHalf, |s| s.inner);
#[cfg(feature = "tokio-io")]
crate::macros::impl_tokio_read!(ReadHalf<'_>, |s| s.0);
#[cfg(feature = "tokio-io")]
crate::macros::impl_tokio_write!(WriteHalf<'_>, |s| s.0);
#[cfg(feature = "tokio-io")]
crate::macros::impl_tokio_read!(OwnedReadHalf, |s| s.inner);
#[cfg(feature = "tokio-io")]
crate::macros::impl_tokio_write!(OwnedWriteHalf, |s| s.inner);
