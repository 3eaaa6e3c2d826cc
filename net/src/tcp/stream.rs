use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::task::{Context, Poll};
use std::time::Duration;

use runtime_reactor::{Direction, Ready};

use crate::poll_evented::PollEvented;
use crate::sys::{self, RawAddr};
use crate::tcp::inq::InqReads;
use crate::tcp::{
    each_addr, split, split_owned, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf,
};
use crate::{Interest, ToSocketAddrs};

/// A TCP connection.
///
/// Reads and writes go through the [`futures_io::AsyncRead`] and
/// [`futures_io::AsyncWrite`] traits, implemented for `TcpStream` and for
/// `&TcpStream` (so one task may read while another writes); the extension
/// methods (`read`, `read_exact`, `write_all`, …) are in `runtime::io`.
/// [`split`](TcpStream::split) and [`into_split`](TcpStream::into_split)
/// give separately owned halves.
///
/// Every read or write tries the system call first and parks only on
/// `EAGAIN` (a short read or write tells the reactor that the socket is
/// drained, or full, so the next call waits for the kernel's next event
/// instead of making an `EAGAIN` call); a read returns as soon as it has any
/// data, and a read into an empty buffer returns `Ok(0)` at once without
/// meaning EOF. On Linux, once a read has filled its buffer, the stream
/// sets `TCP_INQ` on its socket and reads through `recvmsg` whenever the
/// read may drain the queue: the kernel then says in the same call whether
/// anything is left, which spares the `EAGAIN` call after a full read. A
/// `recvmsg` made directly on the fd (through `AsFd`) with room for
/// control messages then also receives a `TCP_CM_INQ` message;
/// [`into_std`](TcpStream::into_std) clears the option. Writes never
/// raise `SIGPIPE`: a write to a reset peer is an `io::Error`. Vectored
/// writes go out in one `sendmsg` per 1,024 slices (`IOV_MAX`), as many as
/// the socket takes in one poll.
///
/// Reads and writes (`AsyncRead`/`AsyncWrite`, the `poll_*` methods) keep
/// one waiting task per direction: if two tasks read (or two tasks write)
/// the same stream concurrently, only the last to wait is woken, as in
/// tokio; one reader and one writer is the supported sharing. The readiness
/// waits (`readable()`, `writable()`, `ready()`) and `peek` take any number
/// of waiting tasks, and readiness wakes them all.
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
    /// Which read the next one is (`tcp::inq`).
    reads: InqReads,
}

impl TcpStream {
    /// Opens a TCP connection to `addr`, trying each resolved address in turn
    /// until one connects. A host name is resolved off the worker (see
    /// [`lookup_host`](crate::lookup_host)).
    ///
    /// The connect is non-blocking: the task waits for the socket to become
    /// writable, then reads `SO_ERROR`.
    ///
    /// # Errors
    ///
    /// The last connect error: `ConnectionRefused` for a closed port,
    /// `TimedOut`, `NetworkUnreachable`, …; `InvalidInput` if `addr`
    /// resolves to nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::{TcpListener, TcpStream};
    ///
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # Ok::<_, std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, |addr| async move {
            let fd = sys::socket(sys::domain_of(&addr), libc::SOCK_STREAM)?;
            TcpStream::connect_fd(fd, addr).await
        })
        .await
    }

    /// Connects the non-blocking socket `fd` to `addr` and waits for the
    /// outcome.
    pub(crate) async fn connect_fd(fd: OwnedFd, addr: SocketAddr) -> io::Result<TcpStream> {
        sys::connect(fd.as_raw_fd(), &RawAddr::from_inet(&addr))?;
        let stream = TcpStream::from_fd(fd)?;
        stream.io.ready_in(Direction::Write).await?;
        // A failed connect leaves its errno in SO_ERROR (on kqueue it also
        // arrives in the event's `fflags`, with EV_EOF, which the reactor
        // turns into the ERROR bit that woke us).
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
        // Writable without an error can, on some systems, still mean "not
        // connected" (the error was already collected, or a hang-up before
        // the handshake finished). A read then reports the real error.
        if let Err(e) = stream.peer_addr() {
            let mut byte = [0u8; 1];
            return Err(
                match sys::io::recv(stream.as_raw_fd(), &mut byte, libc::MSG_PEEK) {
                    Err(read_err) if read_err.kind() != io::ErrorKind::WouldBlock => read_err,
                    _ => e,
                },
            );
        }
        Ok(stream)
    }

    /// Registers a connected (or connecting) non-blocking socket.
    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(std::net::TcpStream::from(fd))?,
            reads: InqReads::new(),
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
            reads: InqReads::new(),
        })
    }

    /// Deregisters the stream and returns it as a standard-library stream
    /// (still in non-blocking mode). On Linux, `TCP_INQ`, which the stream
    /// may have set for its own reads after one filled its buffer, is
    /// cleared again, so `recvmsg` calls on the returned socket get no
    /// control message they did not ask for.
    ///
    /// # Errors
    ///
    /// None at present; the `Result` leaves room for platforms that need one.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.reads.release(self.io.get_ref().as_raw_fd());
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

    /// Sets `IP_TTL`, the time-to-live of outgoing packets.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)` (`InvalidInput` above 255).
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

    /// Sets `SO_LINGER`: with `Some(d)`, closing the socket waits up to `d`
    /// (whole seconds) for unsent data; `Some(Duration::ZERO)` makes the close
    /// send a reset instead of a FIN; `None` is the default (close returns
    /// at once, the kernel sends the rest in the background).
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

    /// Sets `SO_LINGER` to zero: closing the socket then resets the
    /// connection (`RST`) and drops unsent data, instead of the orderly
    /// `FIN`; `set_linger(Some(Duration::ZERO))`.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    pub fn set_zero_linger(&self) -> io::Result<()> {
        self.set_linger(Some(Duration::ZERO))
    }

    /// Sets `TCP_QUICKACK` (Linux): acknowledge at once rather than
    /// delaying. The kernel turns it off again by itself as it sees fit,
    /// so it is set per burst, not once.
    ///
    /// # Errors
    ///
    /// The errors of `setsockopt(2)`.
    #[cfg(target_os = "linux")]
    pub fn set_quickack(&self, quickack: bool) -> io::Result<()> {
        sys::set_flag(
            self.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            quickack,
        )
    }

    /// The value of `TCP_QUICKACK` (Linux).
    ///
    /// # Errors
    ///
    /// The errors of `getsockopt(2)`.
    #[cfg(target_os = "linux")]
    pub fn quickack(&self) -> io::Result<bool> {
        sys::flag(self.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_QUICKACK)
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
    /// The errors of `shutdown(2)` (`NotConnected`, …).
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

    /// Waits until the stream is ready in any direction of `interest` and
    /// returns what is ready (which may include `READ_CLOSED`,
    /// `WRITE_CLOSED` and `ERROR`). Readiness can be spurious: the next
    /// `try_*` call may still return `WouldBlock`.
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::Interest;
    /// use runtime::net::{TcpListener, TcpStream};
    ///
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// let ready = stream.ready(Interest::READABLE | Interest::WRITABLE).await?;
    /// assert!(ready.is_writable());
    /// # Ok::<_, std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.ready(interest).await
    }

    /// Waits until the stream may be readable (data, EOF or an error).
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

    /// Polls for read readiness, storing the task's waker if not ready.
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read).map_ok(drop)
    }

    /// Polls for write readiness, storing the task's waker if not ready.
    ///
    /// # Errors
    ///
    /// Only if the stream was deregistered.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write).map_ok(drop)
    }

    /// Reads without waiting: `WouldBlock` if no data is there. An empty
    /// `buf` gives `Ok(0)` (not EOF).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recv(2)`.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// Reads into several buffers, in order, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `recvmsg(2)`.
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.try_read_vectored(bufs)
    }

    /// Reads without waiting into `buf`'s spare capacity (its `chunk_mut`)
    /// and advances `buf` by the bytes read (feature `bytes`). The kernel
    /// writes straight into the capacity, uninitialised or not; nothing is
    /// zeroed first. `Ok(0)` is end of file, or a `buf` with no spare
    /// capacity (a `BytesMut` or `Vec` grows instead: its `chunk_mut` makes
    /// room). Readiness is cleared only by `WouldBlock`, as for
    /// [`try_read`](TcpStream::try_read); pair it with
    /// [`readable`](TcpStream::readable).
    ///
    /// # Errors
    ///
    /// `WouldBlock` if no data is there, or the errors of `recv(2)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use runtime::io::AsyncWriteExt;
    /// use runtime::net::{TcpListener, TcpStream};
    ///
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut client = TcpStream::connect(listener.local_addr()?).await?;
    /// let (server, _) = listener.accept().await?;
    /// client.write_all(b"hello").await?;
    /// let mut buf = BytesMut::with_capacity(64);
    /// while buf.len() < 5 {
    ///     server.readable().await?;
    ///     match server.try_read_buf(&mut buf) {
    ///         Ok(_) => {}
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// assert_eq!(&buf[..], b"hello");
    /// # Ok::<_, std::io::Error>(()) }).unwrap();
    /// ```
    #[cfg(feature = "bytes")]
    pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.io.try_read_buf(buf)
    }

    /// Writes without waiting: `WouldBlock` if the send buffer is full.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `send(2)` (`BrokenPipe`,
    /// `ConnectionReset`, never a signal).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Writes several buffers, in order, without waiting (`sendmsg(2)`,
    /// advancing across any number of slices).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the errors of `sendmsg(2)`.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.try_write_vectored(bufs)
    }

    /// Reads data without removing it from the socket's queue (`MSG_PEEK`),
    /// waiting until some is there.
    ///
    /// # Errors
    ///
    /// The errors of `recv(2)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncReadExt, AsyncWriteExt};
    /// use runtime::net::{TcpListener, TcpStream};
    ///
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut client = TcpStream::connect(listener.local_addr()?).await?;
    /// let (mut server, _) = listener.accept().await?;
    /// client.write_all(b"hi").await?;
    /// let mut buf = [0u8; 2];
    /// let n = server.peek(&mut buf).await?;
    /// server.read_exact(&mut buf[..n]).await?; // still there
    /// # Ok::<_, std::io::Error>(()) }).unwrap();
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.peek(buf).await
    }

    /// Polls a [`peek`](TcpStream::peek).
    ///
    /// # Errors
    ///
    /// The errors of `recv(2)`.
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_peek(cx, buf)
    }

    /// Splits the stream into a borrowed read half and write half, usable
    /// concurrently (for example in one `join`), without locking.
    ///
    /// With `runtime::io::AsyncReadExt` in scope, `stream.split()` is this
    /// method: that trait has no `split`. (`futures-util`'s `AsyncReadExt`
    /// has one that takes the stream by value, and method lookup tries the
    /// by-value receiver before `&mut self`, so with that trait imported
    /// `stream.split()` would pick its lock-sharing halves; write
    /// `TcpStream::split(&mut stream)` then.)
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Splits the stream into owned halves that can move to different tasks;
    /// [`OwnedReadHalf::reunite`] puts them back together. Dropping the
    /// write half shuts down the write direction (the peer reads EOF).
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split_owned::split_owned(self)
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
        self.reads.poll_read(&self.io, cx, sys::io::as_uninit(buf))
    }

    #[cfg(any(feature = "hyper", feature = "tokio-io"))]
    pub(crate) fn poll_read_uninit_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.reads.poll_read(&self.io, cx, buf)
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

    /// Shuts down the write half for `poll_close`; an already disconnected
    /// socket counts as closed.
    pub(crate) fn close_write(&self) -> io::Result<()> {
        match self.shutdown_std(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            res => res,
        }
    }
}

crate::macros::impl_async_read!(TcpStream, |s| s);
crate::macros::impl_async_write!(TcpStream, |s| s);
crate::macros::impl_async_read!(&TcpStream, |s| *s);
crate::macros::impl_async_write!(&TcpStream, |s| *s);
#[cfg(feature = "hyper")]
crate::macros::impl_hyper_io!(TcpStream, |s| s);
#[cfg(feature = "tokio-io")]
crate::macros::impl_tokio_read!(TcpStream, |s| s);
#[cfg(feature = "tokio-io")]
crate::macros::impl_tokio_write!(TcpStream, |s| s);

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("fd", &self.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

crate::macros::impl_as_fd!(TcpStream, |s| s.io.get_ref());

crate::custom_io::impl_custom_io!(TcpStream, "stream");
