//! Async networking for `runtime`: TCP, UDP and Unix-domain sockets, and
//! [`AsyncFd`](async_fd::AsyncFd) for any other file descriptor, all driven
//! by the process-wide reactor.
//!
//! The types here register their fds with the reactor of `runtime-reactor`
//! and implement the `futures-io` traits; they need no particular scheduler
//! (and never ask "is a reactor running?": one always is). Users normally
//! reach them as `runtime::net` and `runtime::io::unix`.
//!
//! # Examples
//!
//! ```no_run
//! use runtime::io::{AsyncReadExt, AsyncWriteExt};
//! use runtime::net::TcpListener;
//!
//! #[runtime::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:8080").await?;
//!     loop {
//!         let (mut stream, _) = match listener.accept().await {
//!             Ok(conn) => conn,
//!             // Out of fds: logged, and the next accept backs off.
//!             Err(e) => {
//!                 eprintln!("accept: {e}");
//!                 continue;
//!             }
//!         };
//!         runtime::spawn(async move {
//!             let mut buf = vec![0u8; 4096];
//!             loop {
//!                 let n = stream.read(&mut buf).await?;
//!                 if n == 0 {
//!                     return Ok::<_, std::io::Error>(());
//!                 }
//!                 stream.write_all(&buf[..n]).await?;
//!             }
//!         });
//!     }
//! }
//! ```
//!
//! # Features
//!
//! - `hyper`: [`TcpStream`] and [`UnixStream`] implement hyper 1.x's
//!   `rt::Read` and `rt::Write`, so hyper takes them with no wrapper. The
//!   read lets `recv` write straight into hyper's uninitialised buffer (no
//!   zeroing), with the same readiness handling as the `futures-io` read;
//!   `poll_shutdown` shuts down the write direction, as `poll_close` does.
//!   `runtime::hyper` has the executor, timer and adapter to go with them.
//! - `tokio-io`: tokio's `AsyncRead` and `AsyncWrite` (the traits only; tokio
//!   is built without features, and no tokio runtime is needed) for
//!   [`TcpStream`], [`UnixStream`] and the TCP halves
//!   ([`tcp::ReadHalf`], [`tcp::WriteHalf`], [`tcp::OwnedReadHalf`],
//!   [`tcp::OwnedWriteHalf`]), reading into the `ReadBuf`'s uninitialised
//!   part without zeroing it.
//!
//! - `bytes`: receives into a `bytes::BufMut`, as tokio's sockets have
//!   them: `try_read_buf` on [`TcpStream`], [`UnixStream`] and their read
//!   halves, and `recv_buf`, `try_recv_buf`, `recv_buf_from` and
//!   `try_recv_buf_from` on [`UdpSocket`] and [`UnixDatagram`]. `bytes` is
//!   the buffer crate of tokio's ecosystem (`BytesMut` and the `Buf`/`BufMut`
//!   traits, which codecs and protocol crates take), so ported code keeps
//!   its buffers. The kernel writes straight into the buffer's
//!   uninitialised spare capacity (no zeroing), which is then advanced by
//!   the bytes received.
//!
//! # Implementation
//!
//! - Every type wraps one `PollEvented<T>`: the OS object plus its reactor
//!   [`Registration`](runtime_reactor::Registration), dropped in that order
//!   so the fd is deregistered before it is closed. An operation runs the
//!   system call first; `EAGAIN` clears the direction's readiness and parks
//!   the task, and so does (on stream sockets only) a short read or write,
//!   the kernel's own word that the queue ran dry or the buffer filled;
//!   datagram sockets and `AsyncFd` clear only on `EAGAIN` (a short datagram
//!   proves nothing). `EINTR` retries.
//! - Sockets are created non-blocking and close-on-exec in one call where
//!   the OS allows (`SOCK_NONBLOCK`, `accept4`); sends use `MSG_NOSIGNAL`
//!   (or `SO_NOSIGPIPE` on macOS), so a dead peer is an error, never a
//!   signal. Vectored writes are `sendmsg` calls of at most `IOV_MAX`
//!   slices, repeated within one poll while each is written in full.
//! - `connect` is non-blocking: `EINPROGRESS`, wait for writable, then
//!   `SO_ERROR` (on kqueue the errno also arrives in `fflags` with
//!   `EV_EOF`, which the reactor reports as an error).
//! - Listeners skip connections aborted in the backlog and, after
//!   `EMFILE`/`ENFILE`/`ENOBUFS`/`ENOMEM`, return the error and back off
//!   (1 ms doubling to 1 s) before the next `accept`, instead of spinning;
//!   see [`TcpListener`]. The back-off sleeps on the reactor's timer wheel.
//! - Host names resolve off the calling thread (the `runtime` crate's
//!   blocking pool, through a hook it installs, else a thread per lookup);
//!   literal addresses resolve at once. See [`lookup_host`].
//! - [`copy_bidirectional`] moves bytes between two of these stream sockets
//!   with `splice(2)` on Linux (socket → pipe → socket, readiness-driven
//!   like every other operation; see the `splice` module), and through a
//!   buffer for any other stream.
//! - Socket options are plain `setsockopt(2)` calls through `libc` (no
//!   `socket2`: every option here is one call); all system calls live in
//!   the private `sys` module.

#![deny(unsafe_op_in_unsafe_fn)]

mod accept;
pub mod async_fd;
#[cfg(feature = "bytes")]
mod buf;
mod conversions;
mod copy;
mod custom_io;
mod lookup;
mod macros;
mod poll_evented;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod splice;
mod sys;
pub mod tcp;
pub mod udp;
pub mod unix;

pub use copy::{copy_bidirectional, copy_bidirectional_with_sizes};
pub use lookup::{lookup_host, ToSocketAddrs};
#[cfg(any(target_os = "linux", target_os = "android"))]
#[doc(hidden)]
pub use splice::spliced_bytes;
/// The hooks by which `runtime` runs lookups on its blocking pool, and by
/// which tests watch and slow them; not part of the API.
#[doc(hidden)]
pub mod lookup_hooks {
    pub use crate::lookup::sealed::{Internal, ToSocketAddrsPriv};
    pub use crate::lookup::{
        off_thread_lookups, set_blocking_spawner, set_resolver_for_tests, BlockingJob,
        BlockingSpawner, Resolved, Resolver,
    };
}
pub use runtime_reactor::{Interest, Ready};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixSocket, UnixStream};
