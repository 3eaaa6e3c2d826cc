use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use runtime_reactor::Direction;

use crate::poll_evented::PollEvented;
use crate::sys;
use crate::tcp::each_addr;

/// A TCP connection.
///
/// Reads and writes go through the [`futures_io::AsyncRead`] and
/// [`futures_io::AsyncWrite`] traits, implemented for `TcpStream` and for
/// `&TcpStream` (so one task may read while another writes); the extension
/// methods (`read`, `read_exact`, `write_all`, …) are in `runtime::io`.
///
/// Every read or write tries the system call first and parks only on
/// `EAGAIN`; a read returns as soon as it has any data. Writes never raise
/// `SIGPIPE`: a write to a reset peer is an `io::Error`.
///
/// # Examples
///
/// ```no_run
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::TcpStream;
///
/// # async fn hello() -> std::io::Result<()> {
/// let mut stream = TcpStream::connect("127.0.0.1:8080").await?;
/// stream.write_all(b"ping").await?;
/// let mut buf = [0u8; 4];
/// stream.read_exact(&mut buf).await?;
/// # Ok(()) }
/// ```
pub struct TcpStream {
    io: PollEvented<std::net::TcpStream>,
}

impl TcpStream {
    /// Opens a TCP connection to `addr`, trying each resolved address in turn.
    ///
    /// The connect is non-blocking: the task waits for the socket to become
    /// writable, then reads `SO_ERROR`.
    ///
    /// # Errors
    ///
    /// The last connect error: `ConnectionRefused` for a closed port,
    /// `TimedOut`, `NetworkUnreachable`, …; `InvalidInput` if `addr`
    /// resolves to nothing.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, TcpStream::connect_addr).await
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let fd = sys::socket(sys::domain_of(&addr), libc::SOCK_STREAM)?;
        sys::connect(fd.as_raw_fd(), &addr)?;
        let stream = TcpStream::from_fd(fd)?;
        poll_fn(|cx| stream.io.poll_ready(cx, Direction::Write)).await?;
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
        // Writable without an error can, on some systems, still mean "not
        // connected" (e.g. a hang-up before the handshake finished).
        stream.peer_addr()?;
        Ok(stream)
    }

    /// Registers a connected (or connecting) non-blocking socket.
    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(std::net::TcpStream::from(fd))?,
        })
    }

    /// Wraps a connected standard-library stream, switching it to
    /// non-blocking mode.
    ///
    /// # Errors
    ///
    /// If the fd cannot be made non-blocking or registered with the reactor.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        sys::set_nosigpipe(stream.as_raw_fd())?;
        Ok(TcpStream {
            io: PollEvented::new(stream)?,
        })
    }

    /// Deregisters the stream and returns it as a standard-library stream
    /// (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// None at present; the `Result` leaves room for platforms that need one.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(self.io.into_inner())
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The errors of `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// The value of `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Shuts down the read half, the write half or both.
    ///
    /// # Errors
    ///
    /// The errors of `shutdown(2)` (`NotConnected`, …).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
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

    /// Waits until the stream may be readable (data, EOF or an error).
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.io.poll_ready(cx, Direction::Read))
            .await
            .map(drop)
    }

    /// Waits until the stream may be writable.
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.io.poll_ready(cx, Direction::Write))
            .await
            .map(drop)
    }

    /// Reads without waiting: `WouldBlock` if no data is there.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recv(2)`.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.io
            .try_io(Direction::Read, |s| sys::recv(s.as_raw_fd(), buf, 0))
    }

    /// Writes without waiting: `WouldBlock` if the send buffer is full.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `send(2)`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.io
            .try_io(Direction::Write, |s| sys::send(s.as_raw_fd(), buf))
    }

    /// Polls a read into `buf`. An empty `buf` returns `Ok(0)` at once and
    /// says nothing about EOF.
    pub(crate) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.io
            .poll_io(cx, Direction::Read, |s| sys::recv(s.as_raw_fd(), buf, 0))
    }

    /// Polls a write of `buf`.
    pub(crate) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.io
            .poll_io(cx, Direction::Write, |s| sys::send(s.as_raw_fd(), buf))
    }

    /// Shuts down the write half for `poll_close`; an already disconnected
    /// socket counts as closed.
    fn close_write(&self) -> io::Result<()> {
        match self.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            res => res,
        }
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }
}

impl AsyncRead for &TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Bytes go straight to the kernel; there is nothing to flush.
        Poll::Ready(Ok(()))
    }

    /// Shuts down the write half (the peer reads EOF).
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.close_write())
    }
}

impl AsyncWrite for &TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.close_write())
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("fd", &self.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
