use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use runtime_reactor::Direction;

use crate::poll_evented::PollEvented;
use crate::sys;
use crate::tcp::{each_addr, TcpStream};

/// The listen backlog used by [`TcpListener::bind`].
const DEFAULT_BACKLOG: libc::c_int = 1024;

/// A TCP socket server, listening for connections.
///
/// # Examples
///
/// ```no_run
/// use runtime::net::TcpListener;
///
/// # async fn serve() -> std::io::Result<()> {
/// let listener = TcpListener::bind("127.0.0.1:8080").await?;
/// loop {
///     let (stream, peer) = listener.accept().await?;
///     println!("connection from {peer}");
///     drop(stream);
/// }
/// # }
/// ```
pub struct TcpListener {
    io: PollEvented<std::net::TcpListener>,
}

impl TcpListener {
    /// Creates a listener bound to `addr` (`SO_REUSEADDR` set, backlog 1024).
    ///
    /// If `addr` yields several addresses, each is tried in turn and the first
    /// that binds is used. Host names are resolved on the calling thread.
    ///
    /// # Errors
    ///
    /// The last bind error (`AddrInUse`, `AddrNotAvailable`, `PermissionDenied`, …),
    /// or `InvalidInput` if `addr` resolves to nothing.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |addr| async move { TcpListener::bind_addr(addr) }).await
    }

    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let fd = sys::socket(sys::domain_of(&addr), libc::SOCK_STREAM)?;
        sys::setsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        sys::bind(fd.as_raw_fd(), &addr)?;
        sys::syscall!(listen(fd.as_raw_fd(), DEFAULT_BACKLOG))?;
        TcpListener::new(std::net::TcpListener::from(fd))
    }

    pub(crate) fn new(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: PollEvented::new(listener)?,
        })
    }

    /// Wraps a listener from the standard library, switching it to
    /// non-blocking mode.
    ///
    /// # Errors
    ///
    /// If the fd cannot be made non-blocking or registered with the reactor.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::new(listener)
    }

    /// Deregisters the listener and returns it as a standard-library listener
    /// (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// None at present; the `Result` leaves room for platforms that need one.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(self.io.into_inner())
    }

    /// Accepts a new connection.
    ///
    /// # Errors
    ///
    /// The errors of `accept(2)`.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls to accept a new connection; stores the task's waker if none is
    /// pending.
    ///
    /// # Errors
    ///
    /// The errors of `accept(2)`.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        match self
            .io
            .poll_io(cx, Direction::Read, |l| sys::accept(l.as_raw_fd()))
        {
            Poll::Ready(Ok((fd, addr))) => Poll::Ready(TcpStream::from_fd(fd).map(|s| (s, addr))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The local address the listener is bound to.
    ///
    /// # Errors
    ///
    /// The errors of `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `IP_TTL` for accepted connections' packets.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The value of `IP_TTL`.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("fd", &self.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
