//! Async I/O traits and helpers.
//!
//! The traits are `futures-io`'s [`AsyncRead`] and [`AsyncWrite`], the
//! ecosystem's common ground, so adapters written for them work here
//! unchanged. The extension traits and helpers (`read`, `read_exact`,
//! `write_all`, `copy`, `BufReader`, …) are `futures-util`'s rather than
//! written again: it is the well-kept implementation of exactly these
//! methods for exactly these traits, and depending on it (with default
//! features off) is the reason `futures-util` is a dependency of this
//! crate. [`AsyncReadExt`] is our own trait over `futures-util`'s methods,
//! less `split` (see the trait for why).
//!
//! Like tokio's `io` module, this one also has [`copy_bidirectional`] (a
//! two-way proxy copy, zero-copy with `splice(2)` between sockets on
//! Linux), [`split`] for any stream, the in-memory [`duplex`] pipe, and the
//! standard streams [`stdin`], [`stdout`] and [`stderr`] (run on the
//! blocking pool, as tokio's are).
//!
//! The in-memory [`empty`], [`repeat`] and [`sink`] are this crate's own:
//! they take part in the cooperative budget (each poll spends a unit), so a
//! loop over one yields to the other tasks and a
//! [`timeout`](crate::time::timeout) around it fires, as with tokio's.
//!
//! # Examples
//!
//! ```
//! use runtime::io::{AsyncReadExt, AsyncWriteExt};
//! use runtime::net::{TcpListener, TcpStream};
//!
//! # runtime::Runtime::new().unwrap().block_on(async {
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let server = runtime::spawn(async move {
//!     let (mut s, _) = listener.accept().await?;
//!     let mut buf = [0u8; 5];
//!     s.read_exact(&mut buf).await?;
//!     s.write_all(&buf).await?;
//!     Ok::<_, std::io::Error>(())
//! });
//! let mut c = TcpStream::connect(addr).await?;
//! c.write_all(b"hello").await?;
//! let mut buf = [0u8; 5];
//! c.read_exact(&mut buf).await?;
//! assert_eq!(&buf, b"hello");
//! server.await??;
//! # Ok::<_, std::io::Error>(()) }).unwrap();
//! ```

mod blocking;
mod duplex;
mod empty;
mod read_ext;
mod repeat;
mod sink;
mod split;
mod stdio;

pub use duplex::{duplex, DuplexStream};
pub use empty::{empty, Empty};
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use futures_util::io::{copy, copy_buf, AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
pub use read_ext::AsyncReadExt;
pub use repeat::{repeat, Repeat};
pub use runtime_net::{copy_bidirectional, copy_bidirectional_with_sizes, Interest, Ready};
pub use sink::{sink, Sink};
pub use split::{split, ReadHalf, WriteHalf};
pub use stdio::{stderr, stdin, stdout, Stderr, Stdin, Stdout};

/// Unix-specific I/O: [`AsyncFd`](unix::AsyncFd) drives any file descriptor
/// (pipes, `eventfd`, `timerfd`, sockets made elsewhere) with the reactor.
pub mod unix {
    pub use runtime_net::async_fd::{
        AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, AsyncFdTryNewError, TryIoError,
    };
}
