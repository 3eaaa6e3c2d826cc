use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::task::{Context, Poll};

use runtime_reactor::{Direction, Ready};

use crate::poll_evented::PollEvented;
use crate::sys;
use crate::unix::split::{self, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::unix::{SocketAddr, UCred};
use crate::Interest;

/// A Unix-domain stream connection.
///
/// It behaves like [`TcpStream`](crate::TcpStream): the `futures-io`
/// traits for `UnixStream` and `&UnixStream`, reads that return as soon as
/// there is data, an empty buffer reading `Ok(0)` without meaning EOF,
/// writes that never raise `SIGPIPE`, vectored I/O through
/// `sendmsg`/`recvmsg`.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::UnixStream;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (mut a, mut b) = UnixStream::pair()?;
/// a.write_all(b"hello").await?;
/// let mut buf = [0u8; 5];
/// b.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"hello");
/// let cred = b.peer_cred()?; // this very process
/// println!("peer uid {}, pid {:?}", cred.uid(), cred.pid());
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub struct UnixStream {
    io: PollEvented<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`. On Linux a path starting with a NUL
    /// byte names an abstract address.
    ///
    /// # Errors
    ///
    /// `NotFound` if there is no such file, `ConnectionRefused` if nothing
    /// listens on it, `WouldBlock` on Linux if the listener's backlog is full
    /// (the kernel does not queue Unix connects), `InvalidInput` for a path
    /// that is too long.
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        UnixStream::connect_addr(&SocketAddr::from_path_arg(path.as_ref())?).await
    }

    /// Connects to `addr` (pathname or abstract).
    ///
    /// # Errors
    ///
    /// As [`connect`](UnixStream::connect).
    pub async fn connect_addr(addr: &SocketAddr) -> io::Result<UnixStream> {
        let fd = sys::socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
        UnixStream::connect_fd(fd, addr).await
    }

    /// Connects the stream socket `fd` (unconnected, non-blocking) to
    /// `addr`.
    pub(crate) async fn connect_fd(fd: OwnedFd, addr: &SocketAddr) -> io::Result<UnixStream> {
        sys::connect(fd.as_raw_fd(), &addr.to_raw()?)?;
        let stream = UnixStream::from_fd(fd)?;
        stream.io.ready_in(Direction::Write).await?;
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
        Ok(stream)
    }

    /// A connected pair of streams (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// The errors of `socketpair(2)`, or of registering with the reactor.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = sys::socketpair(libc::SOCK_STREAM)?;
        Ok((UnixStream::from_fd(a)?, UnixStream::from_fd(b)?))
    }

    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollEvented::new(std::os::unix::net::UnixStream::from(fd))?,
        })
    }

    /// Wraps a connected standard-library stream, switching it to
    /// non-blocking mode.
    ///
    /// # Errors
    ///
    /// If the fd cannot be made non-blocking or registered with the reactor.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        sys::set_nosigpipe(stream.as_raw_fd())?;
        Ok(UnixStream {
            io: PollEvented::new(stream)?,
        })
    }

    /// Deregisters the stream and returns it as a standard-library stream
    /// (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// None at present.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        Ok(self.io.into_inner())
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The errors of `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        SocketAddr::from_raw(&sys::local_addr(self.as_raw_fd())?)
    }

    /// The peer's address (unnamed for the client side of most connections).
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        SocketAddr::from_raw(&sys::peer_addr(self.as_raw_fd())?)
    }

    /// The credentials of the peer process.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(SO_PEERCRED)` or `getpeereid(3)`.
    pub fn peer_cred(&self) -> io::Result<UCred> {
        UCred::of_peer(self.as_raw_fd())
    }

    /// Shuts down the read half, the write half or both, at once:
    /// `shutdown(2)`, as `std`'s `shutdown(how)`.
    ///
    /// After `Shutdown::Write` the peer reads EOF, and this side can still
    /// read what the peer sends. To shut the write half down as tokio
    /// does, `stream.shutdown().await` (`runtime::io::AsyncWriteExt`'s, the
    /// same as `close`) does that; this method is named apart from it so
    /// that tokio's call resolves to the trait's (an inherent `shutdown`
    /// would shadow it), and it is the way to `Shutdown::Read` or
    /// `Shutdown::Both`.
    ///
    /// # Errors
    ///
    /// The errors of `shutdown(2)`.
    pub fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        sys::take_error(self.as_raw_fd())
    }

    /// Waits until the stream is ready in any direction of `interest`.
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.ready(interest).await
    }

    /// Waits until the stream may be readable.
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready_in(Direction::Read).await
    }

    /// Waits until the stream may be writable.
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready_in(Direction::Write).await
    }

    /// Reads without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recv(2)`.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// Reads into several buffers without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recvmsg(2)`.
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.try_read_vectored(bufs)
    }

    /// Reads without waiting into `buf`'s spare capacity (its `chunk_mut`)
    /// and advances `buf` by the bytes read (feature `bytes`); see
    /// [`TcpStream::try_read_buf`](crate::TcpStream::try_read_buf), which
    /// this is for a Unix stream.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if no data is there, or the errors of `recv(2)`.
    #[cfg(feature = "bytes")]
    pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.io.try_read_buf(buf)
    }

    /// Writes without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `send(2)`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Writes several buffers without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `sendmsg(2)`.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.try_write_vectored(bufs)
    }

    /// Reads data without removing it from the queue, waiting until some is
    /// there.
    ///
    /// # Errors
    ///
    /// The errors of `recv(2)`.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.peek(buf).await
    }

    /// Splits the stream into a borrowed read half and write half, usable
    /// concurrently (for example in one `join`), without locking.
    ///
    /// With `runtime::io::AsyncReadExt` in scope, `stream.split()` is this
    /// method (that trait has no `split`, unlike `futures-util`'s, whose
    /// by-value `split` method lookup would otherwise pick first).
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Splits the stream into owned halves that can move to different
    /// tasks; [`OwnedReadHalf::reunite`] puts them back together. Dropping
    /// the write half shuts down the write direction (the peer reads EOF).
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::split_owned(self)
    }

    /// The reactor registration (for the splice path of
    /// `copy_bidirectional`).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn registration(&self) -> &runtime_reactor::Registration {
        self.io.registration()
    }

    pub(crate) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }

    #[cfg(any(feature = "hyper", feature = "tokio-io"))]
    pub(crate) fn poll_read_uninit_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read_uninit(cx, buf)
    }

    pub(crate) fn poll_read_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read_vectored(cx, bufs)
    }

    pub(crate) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    pub(crate) fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_vectored(cx, bufs)
    }

    pub(crate) fn close_write(&self) -> io::Result<()> {
        match self.shutdown_std(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            res => res,
        }
    }
}

crate::macros::impl_async_read!(UnixStream, |s| s);
crate::macros::impl_async_write!(UnixStream, |s| s);
crate::macros::impl_async_read!(&UnixStream, |s| *s);
crate::macros::impl_async_write!(&UnixStream, |s| *s);
#[cfg(feature = "hyper")]
crate::macros::impl_hyper_io!(UnixStream, |s| s);
#[cfg(feature = "tokio-io")]
crate::macros::impl_tokio_read!(UnixStream, |s| s);
#[cfg(feature = "tokio-io")]
crate::macros::impl_tokio_write!(UnixStream, |s| s);

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("fd", &self.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

crate::macros::impl_as_fd!(UnixStream, |s| s.io.get_ref());

crate::custom_io::impl_custom_io!(UnixStream, "stream");
crate::custom_io::impl_poll_ready!(UnixStream, poll_read_ready, poll_write_ready);
