//! [`UnixSocket`]: a Unix domain socket before it connects, listens or is
//! used for datagrams, for binding it (and setting options) first.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::Path;

use crate::sys;
use crate::unix::{SocketAddr, UnixDatagram, UnixListener, UnixStream};

/// A Unix domain socket, of streams or of datagrams, that is not yet a
/// [`UnixStream`], [`UnixListener`] or [`UnixDatagram`].
///
/// What the one-call constructors do, in steps: a stream socket made with
/// [`new_stream`](UnixSocket::new_stream) can be bound to a path (a client
/// with a name of its own, which its peer sees) before
/// [`connect`](UnixSocket::connect), or bound and given its own backlog by
/// [`listen`](UnixSocket::listen); a datagram socket from
/// [`new_datagram`](UnixSocket::new_datagram) becomes a [`UnixDatagram`]
/// with [`datagram`](UnixSocket::datagram). The socket is non-blocking
/// and close-on-exec from the start; socket options can be set on its fd
/// ([`AsFd`](std::os::fd::AsFd)) in between.
///
/// Calling a method of the other kind (`listen` or `connect` on a datagram
/// socket, `datagram` on a stream socket) is an `InvalidInput` error, and
/// the socket is closed.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::UnixSocket;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("unix-socket-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let (server_path, client_path) = (dir.join("server"), dir.join("client"));
///
/// let socket = UnixSocket::new_stream()?;
/// socket.bind(&server_path)?;
/// let listener = socket.listen(16)?;
///
/// // A client bound to a path of its own: the server sees where it is.
/// let client = UnixSocket::new_stream()?;
/// client.bind(&client_path)?;
/// let mut client = client.connect(&server_path).await?;
/// let (mut served, peer) = listener.accept().await?;
/// assert_eq!(peer.as_pathname(), Some(client_path.as_path()));
///
/// client.write_all(b"hi").await?;
/// let mut buf = [0; 2];
/// served.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"hi");
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub struct UnixSocket {
    fd: OwnedFd,
}

impl UnixSocket {
    /// Creates a Unix stream socket (`SOCK_STREAM`).
    ///
    /// # Errors
    ///
    /// The errors of `socket(2)` (`EMFILE`, …).
    pub fn new_stream() -> io::Result<UnixSocket> {
        UnixSocket::new(libc::SOCK_STREAM)
    }

    /// Creates a Unix datagram socket (`SOCK_DGRAM`).
    ///
    /// # Errors
    ///
    /// The errors of `socket(2)`.
    pub fn new_datagram() -> io::Result<UnixSocket> {
        UnixSocket::new(libc::SOCK_DGRAM)
    }

    fn new(ty: libc::c_int) -> io::Result<UnixSocket> {
        Ok(UnixSocket {
            fd: sys::socket(libc::AF_UNIX, ty)?,
        })
    }

    /// Binds the socket to `path` (on Linux, a path starting with a NUL
    /// byte names an abstract address).
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the file exists (even a stale socket file),
    /// `InvalidInput` for a path that is too long, and the other errors
    /// of `bind(2)`.
    pub fn bind(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.bind_addr(&SocketAddr::from_path_arg(path.as_ref())?)
    }

    /// Binds the socket to `addr` (pathname or abstract).
    ///
    /// # Errors
    ///
    /// As [`bind`](UnixSocket::bind).
    pub fn bind_addr(&self, addr: &SocketAddr) -> io::Result<()> {
        sys::bind(self.fd.as_raw_fd(), &addr.to_raw()?)
    }

    /// Makes the socket listen, with room for `backlog` connections not
    /// yet accepted, and returns it as a [`UnixListener`]. It must be bound
    /// first, or it listens on an autobound abstract name (Linux) that
    /// clients cannot easily find.
    ///
    /// # Errors
    ///
    /// `InvalidInput` on a datagram socket; the errors of `listen(2)`, or
    /// of registering with the reactor.
    pub fn listen(self, backlog: u32) -> io::Result<UnixListener> {
        self.expect(libc::SOCK_STREAM, "listen")?;
        sys::listen(self.fd.as_raw_fd(), backlog)?;
        UnixListener::from_fd(self.fd)
    }

    /// Connects the socket to the listener at `path` and returns the
    /// connected [`UnixStream`].
    ///
    /// # Errors
    ///
    /// `InvalidInput` on a datagram socket; otherwise as
    /// [`UnixStream::connect`]: `NotFound`, `ConnectionRefused`, and on
    /// Linux `WouldBlock` when the listener's backlog is full.
    pub async fn connect(self, path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let addr = SocketAddr::from_path_arg(path.as_ref())?;
        self.connect_addr(&addr).await
    }

    /// Connects the socket to `addr` (pathname or abstract).
    ///
    /// # Errors
    ///
    /// As [`connect`](UnixSocket::connect).
    pub async fn connect_addr(self, addr: &SocketAddr) -> io::Result<UnixStream> {
        self.expect(libc::SOCK_STREAM, "connect")?;
        UnixStream::connect_fd(self.fd, addr).await
    }

    /// Returns the socket as a [`UnixDatagram`], bound or not as it is.
    ///
    /// # Errors
    ///
    /// `InvalidInput` on a stream socket; the errors of registering with
    /// the reactor.
    pub fn datagram(self) -> io::Result<UnixDatagram> {
        self.expect(libc::SOCK_DGRAM, "datagram")?;
        UnixDatagram::from_fd(self.fd)
    }

    /// The local address (unnamed until bound).
    ///
    /// # Errors
    ///
    /// The errors of `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        SocketAddr::from_raw(&sys::local_addr(self.fd.as_raw_fd())?)
    }

    /// Fails unless the socket is of type `ty` (asked of the kernel, so a
    /// socket made with `from_raw_fd` is checked too).
    fn expect(&self, ty: libc::c_int, call: &str) -> io::Result<()> {
        let actual = sys::getsockopt(self.fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_TYPE)?;
        if actual == ty {
            return Ok(());
        }
        let kind = if actual == libc::SOCK_DGRAM {
            "a datagram"
        } else {
            "a stream"
        };
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{call}` cannot be called on {kind} socket"),
        ))
    }
}

impl fmt::Debug for UnixSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixSocket")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

crate::macros::impl_as_fd!(UnixSocket, |s| &s.fd);

impl IntoRawFd for UnixSocket {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl FromRawFd for UnixSocket {
    /// Takes ownership of `fd`, which the caller must have made
    /// non-blocking.
    ///
    /// # Safety
    ///
    /// `fd` must be an open Unix domain socket that nothing else owns.
    unsafe fn from_raw_fd(fd: RawFd) -> UnixSocket {
        UnixSocket {
            // SAFETY: the caller guarantees `fd` is open and unowned.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        }
    }
}

impl From<UnixSocket> for OwnedFd {
    fn from(s: UnixSocket) -> OwnedFd {
        s.fd
    }
}
