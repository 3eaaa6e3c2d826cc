//! [`duplex`]: an in-memory, bounded, bidirectional pipe pair; and
//! [`simplex`]/[`SimplexStream`]: one direction of it.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use runtime_reactor::coop;

use super::{AsyncRead, AsyncWrite};
use crate::shim::{Arc, Mutex};

/// One end of an in-memory pipe pair made by [`duplex`].
///
/// What one end writes the other end reads, in order. Each direction holds
/// at most `max_buf_size` bytes: a write to a full direction waits until
/// the peer reads (backpressure), and writes only as much as fits.
///
/// Closing: [`poll_close`](AsyncWrite::poll_close) (`close().await`) ends
/// this end's writing: the peer reads what is buffered and then EOF, and
/// later writes from this end fail with `BrokenPipe`. Dropping an end
/// closes both of its directions: the peer reads what is buffered and then
/// EOF, and the peer's writes fail with `BrokenPipe`.
///
/// Every completed read and write spends a unit of the task's cooperative
/// budget, as socket I/O does. Each end keeps one waiting task per
/// direction.
#[derive(Debug)]
pub struct DuplexStream {
    /// The direction this end reads from.
    read: Arc<Mutex<Pipe>>,
    /// The direction this end writes into.
    write: Arc<Mutex<Pipe>>,
}

/// Creates a connected pair of [`DuplexStream`]s, each direction buffering
/// at most `max_buf_size` bytes.
///
/// It stands in for a socket pair in tests, or connects two parts of a
/// program through the `AsyncRead`/`AsyncWrite` traits without the kernel.
///
/// # Panics
///
/// If `max_buf_size` is 0 (no write could ever complete).
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (mut client, mut server) = runtime::io::duplex(64);
/// client.write_all(b"ping").await?;
/// let mut buf = [0u8; 4];
/// server.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"ping");
/// drop(server);
/// assert_eq!(client.read(&mut buf).await?, 0); // EOF
/// assert!(client.write(b"x").await.is_err()); // BrokenPipe
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub fn duplex(max_buf_size: usize) -> (DuplexStream, DuplexStream) {
    assert!(max_buf_size > 0, "duplex: max_buf_size must be non-zero");
    let one = Arc::new(Mutex::new(Pipe::new(max_buf_size)));
    let two = Arc::new(Mutex::new(Pipe::new(max_buf_size)));
    (
        DuplexStream {
            read: one.clone(),
            write: two.clone(),
        },
        DuplexStream {
            read: two,
            write: one,
        },
    )
}

/// An in-memory, bounded, one-way pipe: what is written into it is read
/// out of it, in order, at most `max_buf_size` bytes waiting (a write to a
/// full pipe waits for a read, and writes only as much as fits).
///
/// Made whole with [`SimplexStream::new_unsplit`], or as a reader and a
/// writer for two tasks with [`simplex`]. `close()` (tokio's `shutdown()`)
/// ends the writing: the reader gets what is buffered, then EOF, and later
/// writes fail with `BrokenPipe`. Dropping one half of a split pipe closes
/// nothing (the pipe lives while either half does), as in tokio.
///
/// Every completed read and write spends a unit of the task's cooperative
/// budget. One task waits per direction.
#[derive(Debug)]
pub struct SimplexStream {
    pipe: Pipe,
}

impl SimplexStream {
    /// A whole pipe, read and written through the one value.
    ///
    /// # Panics
    ///
    /// If `max_buf_size` is 0 (no write could ever complete).
    pub fn new_unsplit(max_buf_size: usize) -> SimplexStream {
        assert!(max_buf_size > 0, "simplex: max_buf_size must be non-zero");
        SimplexStream {
            pipe: Pipe::new(max_buf_size),
        }
    }
}

/// Creates a one-way in-memory pipe of at most `max_buf_size` waiting
/// bytes, as its reader and its writer (the halves of
/// [`split`](super::split); [`unsplit`](super::ReadHalf::unsplit) gives
/// the [`SimplexStream`] back).
///
/// # Panics
///
/// If `max_buf_size` is 0.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (mut reader, mut writer) = runtime::io::simplex(4);
/// let producer = runtime::spawn(async move {
///     // Four bytes at a time fit; the rest waits for the reader.
///     writer.write_all(b"more than four bytes").await.unwrap();
///     writer.shutdown().await.unwrap();
/// });
/// let mut got = String::new();
/// reader.read_to_string(&mut got).await?;
/// assert_eq!(got, "more than four bytes");
/// producer.await.unwrap();
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub fn simplex(
    max_buf_size: usize,
) -> (
    super::ReadHalf<SimplexStream>,
    super::WriteHalf<SimplexStream>,
) {
    super::split(SimplexStream::new_unsplit(max_buf_size))
}

impl AsyncRead for SimplexStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        budgeted(cx, |cx| self.pipe.poll_read(cx, buf))
    }
}

impl AsyncWrite for SimplexStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        budgeted(cx, |cx| self.pipe.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Ends the writing: the reader reads the rest, then EOF.
    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.pipe.close();
        Poll::Ready(Ok(()))
    }
}

/// Runs a pipe operation under the task's cooperative budget: a unit is
/// taken first (with none left, the task yields) and kept only if `op`
/// completes, as socket I/O does.
fn budgeted<R>(cx: &mut Context<'_>, op: impl FnOnce(&mut Context<'_>) -> Poll<R>) -> Poll<R> {
    let coop = ready!(coop::poll_proceed(cx));
    let res = ready!(op(cx));
    coop.made_progress();
    Poll::Ready(res)
}

/// One direction: the bytes written and not yet read.
struct Pipe {
    buf: VecDeque<u8>,
    max: usize,
    /// The writer closed (no more data) or an end was dropped (nobody to
    /// read, or nobody to write).
    closed: bool,
    /// The reader waiting for data.
    read_waker: Option<Waker>,
    /// The writer waiting for room.
    write_waker: Option<Waker>,
}

impl Pipe {
    fn new(max: usize) -> Pipe {
        Pipe {
            buf: VecDeque::new(),
            max,
            closed: false,
            read_waker: None,
            write_waker: None,
        }
    }

    fn close(&mut self) {
        self.closed = true;
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<io::Result<usize>> {
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.buf.is_empty() {
            if self.closed {
                return Poll::Ready(Ok(0));
            }
            self.read_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = out.len().min(self.buf.len());
        for (dst, src) in out.iter_mut().zip(self.buf.drain(..n)) {
            *dst = src;
        }
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if self.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let room = self.max - self.buf.len();
        if room == 0 {
            self.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(data.len());
        self.buf.extend(&data[..n]);
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        budgeted(cx, |cx| self.read.lock().poll_read(cx, buf))
    }
}

impl AsyncWrite for DuplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        budgeted(cx, |cx| self.write.lock().poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Ends this end's writing: the peer reads the rest, then EOF.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.write.lock().close();
        Poll::Ready(Ok(()))
    }
}

impl Drop for DuplexStream {
    fn drop(&mut self) {
        self.write.lock().close();
        self.read.lock().close();
    }
}

impl fmt::Debug for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipe")
            .field("buffered", &self.buf.len())
            .field("max", &self.max)
            .field("closed", &self.closed)
            .finish()
    }
}
