//! [`BufStream`] (buffering both directions of one stream) and [`join`]
//! (one reader and one writer as one stream), as tokio's.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::io::{BufReader, BufWriter};

use super::{AsyncBufRead, AsyncRead, AsyncWrite};

/// A stream buffered both ways: reads through a [`BufReader`] and writes
/// through a [`BufWriter`] (8 KiB each by default), so small reads and
/// writes reach the stream as few large ones. Flush (or
/// [`shutdown`](super::AsyncWriteExt::shutdown)) to send what is
/// buffered.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncBufReadExt, AsyncWriteExt, BufStream};
/// use runtime::net::UnixStream;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (a, b) = UnixStream::pair()?;
/// let (mut a, mut b) = (BufStream::new(a), BufStream::new(b));
/// a.write_all(b"ping\n").await?;
/// a.flush().await?;
/// let mut line = String::new();
/// b.read_line(&mut line).await?;
/// assert_eq!(line, "ping\n");
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub struct BufStream<RW>(BufReader<BufWriter<RW>>);

impl<RW: AsyncRead + AsyncWrite> BufStream<RW> {
    /// Buffers `stream` both ways with 8 KiB buffers.
    pub fn new(stream: RW) -> BufStream<RW> {
        BufStream(BufReader::new(BufWriter::new(stream)))
    }

    /// Buffers `stream` with a read buffer of `reader_capacity` and a write
    /// buffer of `writer_capacity` bytes.
    pub fn with_capacity(
        reader_capacity: usize,
        writer_capacity: usize,
        stream: RW,
    ) -> BufStream<RW> {
        BufStream(BufReader::with_capacity(
            reader_capacity,
            BufWriter::with_capacity(writer_capacity, stream),
        ))
    }
}

impl<RW> BufStream<RW> {
    /// The stream.
    pub fn get_ref(&self) -> &RW {
        self.0.get_ref().get_ref()
    }

    /// The stream, mutably (reading or writing it directly bypasses the
    /// buffers).
    pub fn get_mut(&mut self) -> &mut RW {
        self.0.get_mut().get_mut()
    }

    /// The stream, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut RW> {
        self.project().get_pin_mut().get_pin_mut()
    }

    /// The stream back; what the buffers hold (bytes read ahead, writes not
    /// flushed) is lost.
    pub fn into_inner(self) -> RW {
        self.0.into_inner().into_inner()
    }

    fn project(self: Pin<&mut Self>) -> Pin<&mut BufReader<BufWriter<RW>>> {
        // SAFETY: the field is pinned structurally: `BufStream` never moves
        // it out of a pinned `self` (`into_inner` takes `self` by value),
        // has no `Drop` impl, and is `Unpin` only when the field is.
        unsafe { self.map_unchecked_mut(|s| &mut s.0) }
    }
}

impl<RW: AsyncRead + AsyncWrite> AsyncRead for BufStream<RW> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.project().poll_read(cx, buf)
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().poll_read_vectored(cx, bufs)
    }
}

impl<RW: AsyncRead + AsyncWrite> AsyncBufRead for BufStream<RW> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().consume(amt)
    }
}

impl<RW: AsyncRead + AsyncWrite> AsyncWrite for BufStream<RW> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().poll_close(cx)
    }
}

impl<RW: fmt::Debug> fmt::Debug for BufStream<RW> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BufStream").field(self.get_ref()).finish()
    }
}

/// A reader and a writer as one stream: reads go to `reader`, writes to
/// `writer`, as tokio's `io::join` (the opposite of [`split`](super::split)).
///
/// # Examples
///
/// ```
/// use runtime::io::{join, AsyncReadExt, AsyncWriteExt};
/// use runtime::net::UnixStream;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (mut to_us, from_them) = UnixStream::pair()?;
/// let (to_them, mut from_us) = UnixStream::pair()?;
/// let mut both = join(from_them, to_them);
/// to_us.write_all(b"in").await?;
/// let mut buf = [0u8; 2];
/// both.read_exact(&mut buf).await?;
/// both.write_all(b"out").await?;
/// let mut out = [0u8; 3];
/// from_us.read_exact(&mut out).await?;
/// assert_eq!((&buf, &out), (b"in", b"out"));
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub fn join<R: AsyncRead, W: AsyncWrite>(reader: R, writer: W) -> Join<R, W> {
    Join { reader, writer }
}

/// A reader and a writer joined into one stream, from [`join`].
pub struct Join<R, W> {
    reader: R,
    writer: W,
}

impl<R, W> Join<R, W> {
    /// The reader and the writer back.
    pub fn into_inner(self) -> (R, W) {
        (self.reader, self.writer)
    }

    /// The reader.
    pub fn reader(&self) -> &R {
        &self.reader
    }

    /// The writer.
    pub fn writer(&self) -> &W {
        &self.writer
    }

    /// The reader, mutably.
    pub fn reader_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The writer, mutably.
    pub fn writer_mut(&mut self) -> &mut W {
        &mut self.writer
    }

    fn reader_pin(self: Pin<&mut Self>) -> Pin<&mut R> {
        // SAFETY: both fields are pinned structurally: `Join` never moves
        // them out of a pinned `self` (only `into_inner`, by value), has no
        // `Drop` impl, and is `Unpin` only when both are.
        unsafe { self.map_unchecked_mut(|j| &mut j.reader) }
    }

    fn writer_pin(self: Pin<&mut Self>) -> Pin<&mut W> {
        // SAFETY: as in `reader_pin`.
        unsafe { self.map_unchecked_mut(|j| &mut j.writer) }
    }
}

impl<R: AsyncRead, W> AsyncRead for Join<R, W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.reader_pin().poll_read(cx, buf)
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.reader_pin().poll_read_vectored(cx, bufs)
    }
}

impl<R: AsyncBufRead, W> AsyncBufRead for Join<R, W> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.reader_pin().poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.reader_pin().consume(amt)
    }
}

impl<R, W: AsyncWrite> AsyncWrite for Join<R, W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.writer_pin().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.writer_pin().poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.writer_pin().poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.writer_pin().poll_close(cx)
    }
}

impl<R: fmt::Debug, W: fmt::Debug> fmt::Debug for Join<R, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("reader", &self.reader)
            .field("writer", &self.writer)
            .finish()
    }
}
