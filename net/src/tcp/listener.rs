use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::task::{Context, Poll};

use crate::accept::{self, Backoff};
use crate::poll_evented::PollEvented;
use crate::sys::{self, RawAddr};
use crate::tcp::{each_addr, TcpStream};
use crate::ToSocketAddrs;

/// The listen backlog used by [`TcpListener::bind`].
const DEFAULT_BACKLOG: u32 = 1024;

/// A TCP socket server, listening for connections.
///
/// # Accept errors
///
/// A connection that was reset or aborted while it waited in the backlog
/// (`ECONNABORTED`, `ECONNRESET`, `EPROTO`) is skipped: `accept` goes on to
/// the next one. When the process or the system runs out of file
/// descriptors or memory (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`),
/// `accept` returns the error, so the caller can log it or free resources,
/// and the listener's next `accept` first waits a little: 1 ms after the
/// first such error, doubling with each consecutive one up to 1 s, and back
/// to nothing after a successful accept. A server loop that logs accept
/// errors and carries on thus neither spins at 100 % CPU nor dies while
/// exhausted, and resumes accepting once descriptors are freed.
///
/// # Examples
///
/// ```no_run
/// use runtime::net::TcpListener;
///
/// # async fn serve() -> std::io::Result<()> {
/// let listener = TcpListener::bind("127.0.0.1:8080").await?;
/// loop {
///     match listener.accept().await {
///         Ok((stream, peer)) => {
///             println!("connection from {peer}");
///             drop(stream);
///         }
///         // EMFILE and friends: the next accept backs off by itself.
///         Err(e) => eprintln!("accept: {e}"),
///     }
/// }
/// # }
/// ```
pub struct TcpListener {
    io: PollEvented<std::net::TcpListener>,
    /// The back-off after resource exhaustion (see "Accept errors").
    backoff: Backoff,
}

impl TcpListener {
    /// Creates a listener bound to `addr` (IPv4 or IPv6; `SO_REUSEADDR` set,
    /// backlog 1024).
    ///
    /// If `addr` yields several addresses, each is tried in turn and the first
    /// that binds is used. A host name is resolved off the worker (see
    /// [`lookup_host`](crate::lookup_host)).
    ///
    /// # Errors
    ///
    /// The last bind error (`AddrInUse`, `AddrNotAvailable`, `PermissionDenied`, …),
    /// or `InvalidInput` if `addr` resolves to nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::TcpListener;
    ///
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// assert_ne!(listener.local_addr()?.port(), 0);
    /// # Ok::<_, std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |addr| async move { TcpListener::bind_addr(addr) }).await
    }

    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let fd = sys::socket(sys::domain_of(&addr), libc::SOCK_STREAM)?;
        sys::setsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        sys::bind(fd.as_raw_fd(), &RawAddr::from_inet(&addr))?;
        sys::listen(fd.as_raw_fd(), DEFAULT_BACKLOG)?;
        TcpListener::new(std::net::TcpListener::from(fd))
    }

    pub(crate) fn new(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: PollEvented::new(listener)?,
            backoff: Backoff::new(),
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
    /// Aborted connections are skipped, and after `EMFILE`-like errors the
    /// next call backs off; see "Accept errors" above.
    ///
    /// # Errors
    ///
    /// The errors of `accept(2)` other than the skipped ones: `EMFILE`,
    /// `ENFILE`, `ENOBUFS`, `ENOMEM` (followed by a back-off), `EINVAL` for
    /// a socket that is not listening, …
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        accept::accept(&self.io, &self.backoff, TcpListener::finish).await
    }

    /// Polls to accept a new connection; stores the task's waker if none is
    /// pending (or a back-off is in force).
    ///
    /// Only the task that polled last is woken: tasks that share a listener
    /// use [`accept`](TcpListener::accept), which wakes every waiting task.
    ///
    /// # Errors
    ///
    /// As [`accept`](TcpListener::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        accept::poll_accept(&self.io, &self.backoff, cx, TcpListener::finish)
    }

    fn finish(fd: OwnedFd, addr: RawAddr) -> io::Result<(TcpStream, SocketAddr)> {
        let addr = addr.to_inet()?;
        Ok((TcpStream::from_fd(fd)?, addr))
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

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        sys::take_error(self.as_raw_fd())
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

crate::macros::impl_as_fd!(TcpListener, |s| s.io.get_ref());
