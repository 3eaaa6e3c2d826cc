//! Async I/O traits and helpers.
//!
//! The traits are `futures-io`'s [`AsyncRead`] and [`AsyncWrite`], the
//! ecosystem's common ground, so adapters written for them work here
//! unchanged. The byte-level helpers (`read`, `read_exact`, `write_all`,
//! `read_line`, `copy`, `BufReader`, …) are `futures-util`'s rather than
//! written again: it is the well-kept implementation of exactly these
//! methods for exactly these traits, and depending on it (with default
//! features off) is the reason `futures-util` is a dependency of this
//! crate.
//!
//! The extension traits [`AsyncReadExt`], [`AsyncWriteExt`] and
//! [`AsyncBufReadExt`] are our own, so that they carry tokio's names: each
//! hands its byte-level methods to `futures-util`'s, leaves out
//! `futures-util`'s by-value `split` (see [`AsyncReadExt`] for why), and
//! adds what tokio has and `futures-util` does not: the numbers in either
//! byte order (`read_u32`, `write_f64_le`, …), `shutdown`, and the
//! cancel-safe [`Lines::next_line`] and [`Split::next_segment`].
//!
//! With the `bytes` feature, the extension traits also have tokio's
//! methods over the [`bytes`](https://docs.rs/bytes) crate's buffers:
//! `AsyncReadExt::read_buf` into a `BufMut` (such as a `BytesMut`, which
//! grows as needed) and `AsyncWriteExt::write_buf` and
//! `AsyncWriteExt::write_all_buf` from a `Buf` (a chain of buffers goes
//! out in one vectored write). `bytes` is the buffer crate of tokio's
//! ecosystem, which tokio's `read_buf` takes, so code ported from tokio
//! keeps its buffers. (The future `ReadBuf` is `read_buf`'s, not tokio's
//! `ReadBuf` buffer type, which `futures-io`'s traits do not use.)
//!
//! Like tokio's `io` module, this one also has [`copy_bidirectional`] (a
//! two-way proxy copy, zero-copy with `splice(2)` between sockets on
//! Linux), [`split`] for any stream, the in-memory [`duplex`] and [`simplex`] pipes, and the
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

pub(crate) mod blocking;
#[cfg(feature = "bytes")]
mod buf;
mod buf_read_ext;
mod duplex;
mod empty;
mod join;
mod num;
mod read_ext;
mod repeat;
mod seek_ext;
mod sink;
mod split;
mod stdio;
pub(crate) mod tokio_traits;
mod write_ext;

#[cfg(feature = "bytes")]
pub use buf::{ReadBuf, WriteAllBuf, WriteBuf};
pub use buf_read_ext::{AsyncBufReadExt, Lines, Split};
pub use duplex::{duplex, simplex, DuplexStream, SimplexStream};
pub use empty::{empty, Empty};
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use futures_util::io::{copy, copy_buf, BufReader, BufWriter};
pub use join::{join, BufStream, Join};
pub use num::{ReadNum, WriteNum};
pub use read_ext::AsyncReadExt;
pub use repeat::{repeat, Repeat};
pub use runtime_net::{copy_bidirectional, copy_bidirectional_with_sizes, Interest, Ready};
pub use seek_ext::AsyncSeekExt;
pub use sink::{sink, Sink};
pub use split::{split, ReadHalf, WriteHalf};
pub use stdio::{stderr, stdin, stdout, Stderr, Stdin, Stdout};
pub use write_ext::AsyncWriteExt;

/// Unix-specific I/O: [`AsyncFd`](unix::AsyncFd) drives any file descriptor
/// (pipes, `eventfd`, `timerfd`, sockets made elsewhere) with the reactor.
pub mod unix {
    pub use runtime_net::async_fd::{
        AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, AsyncFdTryNewError, TryIoError,
    };
}
