use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::task::{Context, Poll};

use runtime_reactor::{Direction, Ready};

use crate::poll_evented::PollEvented;
use crate::sys;
use crate::unix::SocketAddr;
use crate::Interest;

/// A Unix-domain datagram socket.
///
/// As with UDP, each send is one datagram and each receive takes exactly
/// one, truncated to the buffer (Unix datagrams are also reliable and
/// ordered). Binding a pathname creates a socket file that is not removed
/// on drop.
///
/// # Examples
///
/// ```
/// use runtime::net::UnixDatagram;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (a, b) = UnixDatagram::pair()?;
/// a.send(b"one").await?;
/// a.send(b"two").await?;
/// let mut buf = [0u8; 16];
/// assert_eq!(b.recv(&mut buf).await?, 3);
/// assert_eq!(&buf[..3], b"one");
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub struct UnixDatagram {
    io: PollEvented<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Creates a socket bound to `path` (on Linux, a path starting with a
    /// NUL byte names an abstract address).
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the file exists; the other errors of `bind(2)`.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        UnixDatagram::bind_addr(&SocketAddr::from_path_arg(path.as_ref())?)
    }

    /// Creates a socket bound to `addr`.
    ///
    /// # Errors
    ///
    /// The errors of `bind(2)`.
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixDatagram> {
        let fd = sys::socket(libc::AF_UNIX, libc::SOCK_DGRAM)?;
        sys::bind(fd.as_raw_fd(), &addr.to_raw()?)?;
        UnixDatagram::from_fd(fd)
    }

    /// Creates a socket bound to no address. It can send with `send_to` (and
    /// with `send` after [`connect`](UnixDatagram::connect)); receivers see
    /// it as unnamed and cannot reply to it.
    ///
    /// # Errors
    ///
    /// The errors of `socket(2)`.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_fd(sys::socket(libc::AF_UNIX, libc::SOCK_DGRAM)?)
    }

    /// A connected pair of datagram sockets (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// The errors of `socketpair(2)`.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = sys::socketpair(libc::SOCK_DGRAM)?;
        Ok((UnixDatagram::from_fd(a)?, UnixDatagram::from_fd(b)?))
    }

    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: PollEvented::new(std::os::unix::net::UnixDatagram::from(fd))?,
        })
    }

    /// Wraps a standard-library socket, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If the fd cannot be made non-blocking or registered with the reactor.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        UnixDatagram::from_fd(OwnedFd::from(socket))
    }

    /// Deregisters the socket and returns it as a standard-library socket
    /// (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// None at present.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        Ok(self.io.into_inner())
    }

    /// Sets the default peer for `send`/`recv`.
    ///
    /// # Errors
    ///
    /// The errors of `connect(2)` (`NotFound`, `ConnectionRefused`, …).
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.connect_addr(&SocketAddr::from_path_arg(path.as_ref())?)
    }

    /// Sets the default peer to `addr`.
    ///
    /// # Errors
    ///
    /// The errors of `connect(2)`.
    pub fn connect_addr(&self, addr: &SocketAddr) -> io::Result<()> {
        sys::connect(self.as_raw_fd(), &addr.to_raw()?)
    }

    /// Sends one datagram to the connected peer, waiting while its queue is
    /// full.
    ///
    /// # Errors
    ///
    /// `NotConnected` without a peer, `ConnectionRefused` if the peer is
    /// gone, `EMSGSIZE` for an oversized datagram.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.send(buf).await
    }

    /// Sends without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`send`](UnixDatagram::send).
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_send(buf)
    }

    /// Receives one datagram from the connected peer, waiting for one.
    ///
    /// # Errors
    ///
    /// The errors of `recv(2)`.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.recv(buf).await
    }

    /// Polls a [`recv`](UnixDatagram::recv).
    ///
    /// # Errors
    ///
    /// The errors of `recv(2)`.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_recv(cx, buf)
    }

    /// Receives one datagram without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recv(2)`.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_recv(buf)
    }

    /// Receives one datagram from the connected peer into `buf`'s spare
    /// capacity (its `chunk_mut`), waiting for one, and advances `buf` by
    /// its length (feature `bytes`). The kernel writes straight into the
    /// capacity; nothing is zeroed first. As with
    /// [`recv`](UnixDatagram::recv), a datagram longer than the spare
    /// capacity is truncated to it and the rest discarded. Cancel-safe:
    /// dropped before it completes, it has received nothing.
    ///
    /// # Errors
    ///
    /// The errors of `recv(2)`.
    #[cfg(feature = "bytes")]
    pub async fn recv_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.io.recv_buf(buf).await
    }

    /// Receives one datagram into `buf`'s spare capacity without waiting,
    /// and advances `buf` by its length (feature `bytes`).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recv(2)`.
    #[cfg(feature = "bytes")]
    pub fn try_recv_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.io.try_recv_buf(buf)
    }

    /// Receives one datagram into `buf`'s spare capacity (truncated to it),
    /// waiting for one, advances `buf` by its length and returns that and
    /// the sender's address (unnamed for an unbound sender) (feature
    /// `bytes`). Cancel-safe.
    ///
    /// # Errors
    ///
    /// The errors of `recvfrom(2)`.
    #[cfg(feature = "bytes")]
    pub async fn recv_buf_from<B: bytes::BufMut>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.io.recv_buf_from(buf).await?;
        Ok((n, SocketAddr::from_raw(&addr)?))
    }

    /// Receives one datagram and its sender into `buf`'s spare capacity
    /// without waiting (feature `bytes`).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recvfrom(2)`.
    #[cfg(feature = "bytes")]
    pub fn try_recv_buf_from<B: bytes::BufMut>(
        &self,
        buf: &mut B,
    ) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.io.try_recv_buf_from(buf)?;
        Ok((n, SocketAddr::from_raw(&addr)?))
    }

    /// Sends one datagram to the socket at `path`.
    ///
    /// # Errors
    ///
    /// The errors of `sendto(2)`.
    pub async fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        self.send_to_addr(buf, &SocketAddr::from_path_arg(path.as_ref())?)
            .await
    }

    /// Sends one datagram to `addr`.
    ///
    /// # Errors
    ///
    /// The errors of `sendto(2)`.
    pub async fn send_to_addr(&self, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
        let raw = addr.to_raw()?;
        self.io
            .async_io(Direction::Write, |s| {
                sys::io::send_to(s.as_raw_fd(), buf, &raw)
            })
            .await
    }

    /// Sends one datagram to `path` without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `sendto(2)`.
    pub fn try_send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let raw = SocketAddr::from_path_arg(path.as_ref())?.to_raw()?;
        self.io.try_io(Direction::Write, |s| {
            sys::io::send_to(s.as_raw_fd(), buf, &raw)
        })
    }

    /// Receives one datagram and its sender's address (unnamed for an
    /// unbound sender), waiting for one.
    ///
    /// # Errors
    ///
    /// The errors of `recvfrom(2)`.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.io.recv_from(sys::io::as_uninit(buf), 0).await?;
        Ok((n, SocketAddr::from_raw(&addr)?))
    }

    /// Polls a [`recv_from`](UnixDatagram::recv_from).
    ///
    /// # Errors
    ///
    /// The errors of `recvfrom(2)`.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io
            .poll_recv_from(cx, sys::io::as_uninit(buf), 0)
            .map(|res| res.and_then(|(n, addr)| Ok((n, SocketAddr::from_raw(&addr)?))))
    }

    /// Receives one datagram with its sender without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recvfrom(2)`.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.io.try_recv_from(sys::io::as_uninit(buf), 0)?;
        Ok((n, SocketAddr::from_raw(&addr)?))
    }

    /// Waits until the socket is ready in any direction of `interest`.
    ///
    /// # Errors
    ///
    /// Only if the socket was deregistered.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.ready(interest).await
    }

    /// Waits until a datagram may be received.
    ///
    /// # Errors
    ///
    /// Only if the socket was deregistered.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready_in(Direction::Read).await
    }

    /// Waits until a datagram may be sent.
    ///
    /// # Errors
    ///
    /// Only if the socket was deregistered.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready_in(Direction::Write).await
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The errors of `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        SocketAddr::from_raw(&sys::local_addr(self.as_raw_fd())?)
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` without a peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        SocketAddr::from_raw(&sys::peer_addr(self.as_raw_fd())?)
    }

    /// Shuts down reading, writing or both.
    ///
    /// # Errors
    ///
    /// The errors of `shutdown(2)`.
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
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("fd", &self.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

crate::macros::impl_as_fd!(UnixDatagram, |s| s.io.get_ref());

crate::custom_io::impl_custom_io!(UnixDatagram, "socket");
crate::custom_io::impl_poll_ready!(UnixDatagram, poll_recv_ready, poll_send_ready);

impl UnixDatagram {
    /// Polls a [`send`](UnixDatagram::send) to the connected peer.
    ///
    /// # Errors
    ///
    /// As [`send`](UnixDatagram::send).
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_send(cx, buf)
    }

    /// Polls a [`send_to`](UnixDatagram::send_to).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a path too long for a socket address, or the
    /// errors of `sendto(2)`.
    pub fn poll_send_to<P: AsRef<Path>>(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        path: P,
    ) -> Poll<io::Result<usize>> {
        let raw = match SocketAddr::from_path_arg(path.as_ref()).and_then(|a| a.to_raw()) {
            Ok(raw) => raw,
            Err(e) => return Poll::Ready(Err(e)),
        };
        self.io.poll_io(cx, Direction::Write, |s| {
            sys::io::send_to(s.as_raw_fd(), buf, &raw)
        })
    }
}
