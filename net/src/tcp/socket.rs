//! [`TcpSocket`]: a TCP socket before it connects or listens, for setting
//! options that must come first.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::sys::{self, RawAddr};
use crate::tcp::{TcpListener, TcpStream};

/// A TCP socket that is not yet connected or listening.
///
/// Options that must be set before `bind`, `listen` or `connect`
/// (`SO_REUSEADDR`, `SO_REUSEPORT`, buffer sizes) go here; then
/// [`listen`](TcpSocket::listen) makes a [`TcpListener`] and
/// [`connect`](TcpSocket::connect) a [`TcpStream`]. The socket is
/// non-blocking and close-on-exec from the start. Options are plain
/// `setsockopt(2)` calls through `libc`.
///
/// # Examples
///
/// ```
/// use runtime::net::TcpSocket;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let socket = TcpSocket::new_v4()?;
/// socket.set_reuseaddr(true)?;
/// socket.bind("127.0.0.1:0".parse().unwrap())?;
/// let listener = socket.listen(128)?;
///
/// let client = TcpSocket::new_v4()?;
/// client.set_nodelay(true)?;
/// let stream = client.connect(listener.local_addr()?).await?;
/// assert!(stream.nodelay()?);
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub struct TcpSocket {
    fd: OwnedFd,
}

impl TcpSocket {
    /// Creates an IPv4 TCP socket.
    ///
    /// # Errors
    ///
    /// The errors of `socket(2)` (`EMFILE`, …).
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(libc::AF_INET)
    }

    /// Creates an IPv6 TCP socket.
    ///
    /// # Errors
    ///
    /// The errors of `socket(2)` (`EAFNOSUPPORT` without IPv6, …).
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(libc::AF_INET6)
    }

    fn new(domain: libc::c_int) -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            fd: sys::socket(domain, libc::SOCK_STREAM)?,
        })
    }

    /// Sets `SO_REUSEADDR`: bind to an address that still has connections in
    /// `TIME_WAIT`.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        sys::set_flag(
            self.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            reuseaddr,
        )
    }

    /// The value of `SO_REUSEADDR`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        sys::flag(self.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR)
    }

    /// Sets `SO_REUSEPORT`: several sockets may bind the same address and
    /// port (on Linux the kernel then spreads connections across them).
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        sys::set_flag(
            self.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEPORT,
            reuseport,
        )
    }

    /// The value of `SO_REUSEPORT`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn reuseport(&self) -> io::Result<bool> {
        sys::flag(self.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEPORT)
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        sys::set_flag(
            self.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            nodelay,
        )
    }

    /// The value of `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn nodelay(&self) -> io::Result<bool> {
        sys::flag(self.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_NODELAY)
    }

    /// Sets `SO_SNDBUF`, the size of the send buffer. The kernel may round
    /// it (Linux doubles it for bookkeeping and applies a minimum).
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        sys::set_buffer_size(self.as_raw_fd(), libc::SO_SNDBUF, size)
    }

    /// The value of `SO_SNDBUF`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        sys::buffer_size(self.as_raw_fd(), libc::SO_SNDBUF)
    }

    /// Sets `SO_RCVBUF`, the size of the receive buffer (and so the largest
    /// window the peer is offered). Set it before `connect` or `listen` for
    /// it to shape the window.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        sys::set_buffer_size(self.as_raw_fd(), libc::SO_RCVBUF, size)
    }

    /// The value of `SO_RCVBUF`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        sys::buffer_size(self.as_raw_fd(), libc::SO_RCVBUF)
    }

    /// Sets `SO_LINGER`; see [`TcpStream::set_linger`].
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        sys::set_linger(self.as_raw_fd(), linger)
    }

    /// The value of `SO_LINGER`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        sys::linger(self.as_raw_fd())
    }

    /// Binds the socket to `addr`.
    ///
    /// # Errors
    ///
    /// The errors of `bind(2)`: `AddrInUse`, `AddrNotAvailable`,
    /// `InvalidInput` for an address of the other family, …
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        sys::bind(self.as_raw_fd(), &RawAddr::from_inet(&addr))
    }

    /// The local address (after `bind`, or the kernel's choice after
    /// `connect`).
    ///
    /// # Errors
    ///
    /// The errors of `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::local_addr(self.as_raw_fd())?.to_inet()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        sys::take_error(self.as_raw_fd())
    }

    /// Turns the socket into a listener with a backlog of `backlog` pending
    /// connections (clamped by the kernel to `somaxconn`).
    ///
    /// # Errors
    ///
    /// The errors of `listen(2)`, or of registering with the reactor.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        sys::listen(self.as_raw_fd(), backlog)?;
        TcpListener::new(std::net::TcpListener::from(self.fd))
    }

    /// Connects to `addr` and waits for the outcome; see
    /// [`TcpStream::connect`].
    ///
    /// # Errors
    ///
    /// `ConnectionRefused`, `TimedOut`, `NetworkUnreachable`, … (never `Ok`
    /// for a connection that failed).
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect_fd(self.fd, addr).await
    }

    /// Wraps a standard-library stream's socket (for example one made by
    /// another library) to set options on it; it is made non-blocking.
    ///
    /// # Errors
    ///
    /// If the fd cannot be made non-blocking.
    pub fn from_std_stream(stream: std::net::TcpStream) -> io::Result<TcpSocket> {
        stream.set_nonblocking(true)?;
        sys::set_nosigpipe(stream.as_raw_fd())?;
        Ok(TcpSocket {
            fd: OwnedFd::from(stream),
        })
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

crate::macros::impl_as_fd!(TcpSocket, |s| &s.fd);

impl IntoRawFd for TcpSocket {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl FromRawFd for TcpSocket {
    /// Takes ownership of `fd`, which the caller must have made
    /// non-blocking (and, on macOS, `SO_NOSIGPIPE`).
    ///
    /// # Safety
    ///
    /// `fd` must be an open TCP socket that nothing else owns.
    unsafe fn from_raw_fd(fd: RawFd) -> TcpSocket {
        TcpSocket {
            // SAFETY: the caller guarantees `fd` is open and unowned.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        }
    }
}
