//! The futures of [`AsyncReadExt::read_buf`](super::AsyncReadExt::read_buf),
//! [`AsyncWriteExt::write_buf`](super::AsyncWriteExt::write_buf) and
//! [`AsyncWriteExt::write_all_buf`](super::AsyncWriteExt::write_all_buf)
//! (feature `bytes`): tokio's reads into a [`BufMut`] and writes from a
//! [`Buf`].
//!
//! `bytes` is the buffer crate of tokio's ecosystem: `BytesMut` and `Bytes`,
//! and the `Buf`/`BufMut` traits that codecs, protocol crates and tokio's
//! own `read_buf` take. Code ported from tokio reads into a `BytesMut` that
//! grows as needed and writes out chains of buffers; these methods let it
//! keep doing so over `futures-io`'s traits.
//!
//! # Reading into uninitialised memory
//!
//! A `BufMut`'s spare capacity (`chunk_mut`) may be uninitialised, and
//! `futures-io`'s `poll_read` takes a `&mut [u8]`, which must not be made
//! from uninitialised bytes even if the reader only writes to it. So
//! `read_buf` zeroes what it hands to the reader, and only that: the first
//! `MAX_READ` bytes (32 KiB) of the chunk at most, not the whole spare capacity
//! (which for a `BytesMut` reserved at 1 MiB would be a 1 MiB `memset` per
//! read). Zeroing costs about what the reader's copy of the same bytes
//! does, and a poll that finds no data yet (`Pending`) pays it for nothing,
//! so the bound keeps that waste small while one read still moves up to
//! 32 KiB. The sockets' own `try_read_buf`, `recv_buf`, … need none of
//! this: `recv(2)` writes straight into the uninitialised capacity.

use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut};

use super::{AsyncRead, AsyncWrite};

/// The most bytes of spare capacity one poll of [`ReadBuf`] zeroes and
/// hands to `poll_read` (see the module's docs for why there is a bound).
const MAX_READ: usize = 32 * 1024;

/// The most slices one `poll_write_vectored` of [`WriteAllBuf`] is given
/// (`Buf::chunks_vectored` fills at most this many).
const MAX_SLICES: usize = 64;

/// The error of a reader or writer that reports more bytes than it was
/// given room for (a bug in it): neither buffer can be advanced past what
/// was offered.
fn overreport(what: &str, n: usize, len: usize) -> io::Error {
    io::Error::other(format!(
        "the {what} reported {n} bytes, more than the {len} it was given"
    ))
}

/// Future of [`AsyncReadExt::read_buf`](super::AsyncReadExt::read_buf):
/// one read into a [`BufMut`]'s spare capacity, which it then advances.
#[must_use = "futures do nothing unless polled"]
pub struct ReadBuf<'a, R: ?Sized, B: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut B,
}

impl<'a, R: ?Sized, B: ?Sized> ReadBuf<'a, R, B> {
    pub(super) fn new(reader: &'a mut R, buf: &'a mut B) -> Self {
        ReadBuf { reader, buf }
    }
}

impl<R: ?Sized, B: ?Sized> fmt::Debug for ReadBuf<'_, R, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadBuf").finish_non_exhaustive()
    }
}

impl<R: AsyncRead + Unpin + ?Sized, B: BufMut + ?Sized> Future for ReadBuf<'_, R, B> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        // Both fields are references, so `Unpin`.
        let this = self.get_mut();
        if !this.buf.has_remaining_mut() {
            return Poll::Ready(Ok(0));
        }
        let chunk = this.buf.chunk_mut();
        let len = chunk.len().min(MAX_READ);
        let ptr = chunk.as_mut_ptr();
        // SAFETY: `ptr` and `len` are the start and at most the length of
        // the chunk `chunk_mut` just returned, memory of `*this.buf`'s
        // that we hold exclusively (through `&mut`); `write_bytes`
        // initialises all `len` bytes, so the `&mut [u8]` made of them
        // holds initialised bytes only. The slice ends before `this.buf`
        // is used again.
        let dst = unsafe {
            ptr.write_bytes(0, len);
            std::slice::from_raw_parts_mut(ptr, len)
        };
        let n = ready!(Pin::new(&mut *this.reader).poll_read(cx, dst))?;
        if n > len {
            return Poll::Ready(Err(overreport("reader", n, len)));
        }
        // SAFETY: the chunk's first `len` bytes were initialised above
        // (zeroed, then written only through a `&mut [u8]`, which can
        // store initialised bytes only), and `n <= len`.
        unsafe { this.buf.advance_mut(n) };
        Poll::Ready(Ok(n))
    }
}

/// Future of [`AsyncWriteExt::write_buf`](super::AsyncWriteExt::write_buf):
/// one write from a [`Buf`]'s current chunk, which it then advances past.
#[must_use = "futures do nothing unless polled"]
pub struct WriteBuf<'a, W: ?Sized, B> {
    writer: &'a mut W,
    buf: &'a mut B,
}

impl<'a, W: ?Sized, B> WriteBuf<'a, W, B> {
    pub(super) fn new(writer: &'a mut W, buf: &'a mut B) -> Self {
        WriteBuf { writer, buf }
    }
}

impl<W: ?Sized, B> fmt::Debug for WriteBuf<'_, W, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteBuf").finish_non_exhaustive()
    }
}

impl<W: AsyncWrite + Unpin + ?Sized, B: Buf> Future for WriteBuf<'_, W, B> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.buf.has_remaining() {
            return Poll::Ready(Ok(0));
        }
        let chunk = this.buf.chunk();
        let len = chunk.len();
        let n = ready!(Pin::new(&mut *this.writer).poll_write(cx, chunk))?;
        if n > len {
            return Poll::Ready(Err(overreport("writer", n, len)));
        }
        this.buf.advance(n);
        Poll::Ready(Ok(n))
    }
}

/// Future of
/// [`AsyncWriteExt::write_all_buf`](super::AsyncWriteExt::write_all_buf):
/// writes until the [`Buf`] has nothing left, advancing it as it goes.
#[must_use = "futures do nothing unless polled"]
pub struct WriteAllBuf<'a, W: ?Sized, B> {
    writer: &'a mut W,
    buf: &'a mut B,
}

impl<'a, W: ?Sized, B> WriteAllBuf<'a, W, B> {
    pub(super) fn new(writer: &'a mut W, buf: &'a mut B) -> Self {
        WriteAllBuf { writer, buf }
    }
}

impl<W: ?Sized, B> fmt::Debug for WriteAllBuf<'_, W, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteAllBuf").finish_non_exhaustive()
    }
}

impl<W: AsyncWrite + Unpin + ?Sized, B: Buf> Future for WriteAllBuf<'_, W, B> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while this.buf.has_remaining() {
            // Every chunk the buffer has (up to `MAX_SLICES`) in one
            // vectored write: a `Chain` of a header and a body goes out in
            // one `sendmsg` on a socket. A writer without a vectored write
            // of its own gets the first non-empty slice (`futures-io`'s
            // default), so this is never worse than writing `chunk()`.
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let count = this.buf.chunks_vectored(&mut slices);
            let offered = slices[..count].iter().map(|s| s.len()).sum::<usize>();
            let writer = Pin::new(&mut *this.writer);
            let (res, offered) = if offered == 0 {
                // A `Buf` whose `chunks_vectored` fills nothing although
                // it has bytes left: write its `chunk()` instead.
                let chunk = this.buf.chunk();
                (ready!(writer.poll_write(cx, chunk)), chunk.len())
            } else {
                (
                    ready!(writer.poll_write_vectored(cx, &slices[..count])),
                    offered,
                )
            };
            match res {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the writer accepted no bytes of the buffer",
                    )))
                }
                Ok(n) if n > offered => return Poll::Ready(Err(overreport("writer", n, offered))),
                Ok(n) => this.buf.advance(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}
