use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::task::{Context, Poll};

use crate::accept::{self, Backoff};
use crate::poll_evented::PollEvented;
use crate::sys::{self, RawAddr};
use crate::unix::{SocketAddr, UnixStream};

/// The listen backlog used by [`UnixListener::bind`].
const DEFAULT_BACKLOG: u32 = 1024;

/// A Unix-domain stream socket server, listening for connections.
///
/// Binding a pathname creates the socket file; it is *not* removed when the
/// listener is dropped (as with the standard library and tokio): remove it
/// yourself, or use an abstract address on Linux, which leaves nothing
/// behind. `accept` handles errors as
/// [`TcpListener`](crate::TcpListener) does: aborted connections are
/// skipped, and after `EMFILE`-like errors the next `accept` backs off.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::{UnixListener, UnixStream};
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("runtime-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("echo.sock");
/// let listener = UnixListener::bind(&path)?;
/// let mut client = UnixStream::connect(&path).await?;
/// let (mut server, _) = listener.accept().await?;
/// client.write_all(b"hi").await?;
/// let mut buf = [0u8; 2];
/// server.read_exact(&mut buf).await?;
/// std::fs::remove_dir_all(&dir)?; // the socket file with it
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub struct UnixListener {
    io: PollEvented<std::os::unix::net::UnixListener>,
    /// The back-off after resource exhaustion.
    backoff: Backoff,
}

impl UnixListener {
    /// Creates a listener bound to `path` (backlog 1024). On Linux a path
    /// starting with a NUL byte names an abstract address.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the file exists (even a stale socket file); the other
    /// errors of `bind(2)`; `InvalidInput` for a path that is too long.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        UnixListener::bind_addr(&SocketAddr::from_path_arg(path.as_ref())?)
    }

    /// Creates a listener bound to `addr` (pathname or abstract).
    ///
    /// # Errors
    ///
    /// The errors of `bind(2)` and `listen(2)`.
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        let fd = sys::socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
        sys::bind(fd.as_raw_fd(), &addr.to_raw()?)?;
        sys::listen(fd.as_raw_fd(), DEFAULT_BACKLOG)?;
        UnixListener::from_fd(fd)
    }

    /// Wraps the listening socket `fd` (non-blocking).
    pub(crate) fn from_fd(fd: std::os::fd::OwnedFd) -> io::Result<UnixListener> {
        UnixListener::new(std::os::unix::net::UnixListener::from(fd))
    }

    fn new(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: PollEvented::new(listener)?,
            backoff: Backoff::new(),
        })
    }

    /// Wraps a standard-library listener, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If the fd cannot be made non-blocking or registered with the reactor.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        UnixListener::new(listener)
    }

    /// Deregisters the listener and returns it as a standard-library listener
    /// (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// None at present.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        Ok(self.io.into_inner())
    }

    /// Accepts a new connection.
    ///
    /// # Errors
    ///
    /// The errors of `accept(2)` other than the skipped ones; see
    /// [`TcpListener`](crate::TcpListener) for the back-off after `EMFILE`,
    /// `ENFILE`, `ENOBUFS` and `ENOMEM`.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        accept::accept(&self.io, &self.backoff, UnixListener::finish).await
    }

    /// Polls to accept a new connection.
    ///
    /// Only the task that polled last is woken: tasks that share a listener
    /// use [`accept`](UnixListener::accept), which wakes every waiting task.
    ///
    /// # Errors
    ///
    /// As [`accept`](UnixListener::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        accept::poll_accept(&self.io, &self.backoff, cx, UnixListener::finish)
    }

    fn finish(fd: OwnedFd, addr: RawAddr) -> io::Result<(UnixStream, SocketAddr)> {
        let addr = SocketAddr::from_raw(&addr)?;
        Ok((UnixStream::from_fd(fd)?, addr))
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// The errors of `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        SocketAddr::from_raw(&sys::local_addr(self.as_raw_fd())?)
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

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("fd", &self.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

crate::macros::impl_as_fd!(UnixListener, |s| s.io.get_ref());
