//! [`AsyncWriteExt`]: the write methods of every [`AsyncWrite`].

use std::io::IoSlice;

use futures_util::io::{
    AsyncWriteExt as FuturesWriteExt, Close, Flush, Write, WriteAll, WriteVectored,
};

#[cfg(feature = "bytes")]
use super::buf::{WriteAllBuf, WriteBuf};
use super::num::{write_methods, WriteNum};
use super::AsyncWrite;

/// Methods on every [`AsyncWrite`]: `write`, `write_all`, `flush`,
/// `shutdown`, `write_u32`, …
///
/// The byte-level methods are `futures-util`'s method of the same name (it
/// returns `futures-util`'s future), so their behaviour and cancel-safety
/// are that crate's: `write` and `write_vectored` are cancel-safe (dropped
/// before completion, they wrote nothing), `write_all` is not (how much
/// was written is not reported).
///
/// With the `bytes` feature, `write_buf` and `write_all_buf` are tokio's:
/// writes from a `bytes::Buf`, which they advance by what was written.
/// `write_buf` is cancel-safe; `write_all_buf` is not, but the buffer has
/// been advanced past whatever was written before it was dropped.
///
/// [`shutdown`](AsyncWriteExt::shutdown) is tokio's name for
/// [`close`](AsyncWriteExt::close), `futures-io`'s: both flush and then
/// shut the write direction down (for a socket, `shutdown(SHUT_WR)`: the
/// peer reads end of file, and this side can still read).
///
/// The number methods are tokio's: `write_u8`, `write_i8`, and for 16 to
/// 128 bits `write_u16`, `write_i32`, `write_f64`, … (big-endian, network
/// order) and `write_u16_le`, … (little-endian). Each writes all of the
/// number's bytes. None is cancel-safe but `write_u8`/`write_i8` (a wider
/// number may be written in part before the future is dropped).
///
/// Importing `futures-util`'s (or `futures`') `AsyncWriteExt` as well makes
/// the shared method names ambiguous: import one of the two.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::UnixStream;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (mut a, mut b) = UnixStream::pair()?;
/// a.write_u16(0x0102).await?;
/// a.write_u16_le(0x0102).await?;
/// a.write_all(b"!").await?;
/// a.shutdown().await?; // the peer reads end of file
/// let mut bytes = Vec::new();
/// b.read_to_end(&mut bytes).await?;
/// assert_eq!(bytes, [1, 2, 2, 1, b'!']);
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub trait AsyncWriteExt: AsyncWrite {
    /// Writes some of `buf` and returns how many bytes (0 for an empty
    /// `buf`). Cancel-safe.
    fn write<'a>(&'a mut self, buf: &'a [u8]) -> Write<'a, Self>
    where
        Self: Unpin,
    {
        FuturesWriteExt::write(self, buf)
    }

    /// Writes from several buffers, in order, and returns how many bytes.
    /// Cancel-safe.
    fn write_vectored<'a>(&'a mut self, bufs: &'a [IoSlice<'a>]) -> WriteVectored<'a, Self>
    where
        Self: Unpin,
    {
        FuturesWriteExt::write_vectored(self, bufs)
    }

    /// Writes all of `buf`; a writer that accepts no bytes is a `WriteZero`
    /// error. Not cancel-safe.
    fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> WriteAll<'a, Self>
    where
        Self: Unpin,
    {
        FuturesWriteExt::write_all(self, buf)
    }

    /// Writes some of `src`'s current chunk (`src.chunk()`), advances
    /// `src` past what was written and returns how many bytes (0 for a
    /// `src` with nothing left; feature `bytes`). One write, like
    /// [`write`](AsyncWriteExt::write): for a `src` made of several chunks
    /// (a `Chain`), it writes from the first only. Cancel-safe: dropped
    /// before it completes, it wrote nothing.
    ///
    /// # Errors
    ///
    /// The writer's; and an error if the writer reports more bytes than
    /// it was given (`src` is left as it was).
    #[cfg(feature = "bytes")]
    fn write_buf<'a, B>(&'a mut self, src: &'a mut B) -> WriteBuf<'a, Self, B>
    where
        Self: Unpin,
        B: bytes::Buf,
    {
        WriteBuf::new(self, src)
    }

    /// Writes all of `src`, advancing it as it goes, until
    /// `src.has_remaining()` is false (feature `bytes`). Each write offers
    /// all of `src`'s chunks (up to 64, `chunks_vectored`) to
    /// `poll_write_vectored`, so a `Chain` of a header and a body goes out
    /// in one `sendmsg` on a socket. Not cancel-safe: dropped before it
    /// completes, it may have written part of `src`, but `src` has been
    /// advanced past exactly that part, so writing it again continues
    /// where this left off.
    ///
    /// # Errors
    ///
    /// The writer's (an `Interrupted` one is retried); a writer that
    /// accepts no bytes is a `WriteZero` error, and one that reports more
    /// than it was given an error too.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Buf;
    /// use runtime::io::{AsyncReadExt, AsyncWriteExt};
    /// use runtime::net::UnixStream;
    ///
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// // `Buf::chain`, not `AsyncReadExt::chain` (both are in scope).
    /// let mut message = Buf::chain(&b"head:"[..], &b"body"[..]);
    /// a.write_all_buf(&mut message).await?;
    /// assert!(!message.has_remaining());
    /// drop(a);
    /// let mut got = Vec::new();
    /// b.read_to_end(&mut got).await?;
    /// assert_eq!(got, b"head:body");
    /// # Ok::<_, std::io::Error>(()) }).unwrap();
    /// ```
    #[cfg(feature = "bytes")]
    fn write_all_buf<'a, B>(&'a mut self, src: &'a mut B) -> WriteAllBuf<'a, Self, B>
    where
        Self: Unpin,
        B: bytes::Buf,
    {
        WriteAllBuf::new(self, src)
    }

    /// Flushes what the writer buffers (a socket buffers nothing).
    fn flush(&mut self) -> Flush<'_, Self>
    where
        Self: Unpin,
    {
        FuturesWriteExt::flush(self)
    }

    /// Flushes, then shuts the write direction down (`futures-io`'s
    /// `poll_close`); the same as [`shutdown`](AsyncWriteExt::shutdown).
    fn close(&mut self) -> Close<'_, Self>
    where
        Self: Unpin,
    {
        FuturesWriteExt::close(self)
    }

    /// Flushes, then shuts the write direction down: tokio's name for
    /// [`close`](AsyncWriteExt::close), the same future.
    fn shutdown(&mut self) -> Close<'_, Self>
    where
        Self: Unpin,
    {
        FuturesWriteExt::close(self)
    }

    write_methods! {
        /// Writes an unsigned byte. Cancel-safe.
        write_u8: u8 = to_be_bytes;
        /// Writes a signed byte. Cancel-safe.
        write_i8: i8 = to_be_bytes;
        /// Writes a `u16`, big-endian. Not cancel-safe.
        write_u16: u16 = to_be_bytes;
        /// Writes an `i16`, big-endian. Not cancel-safe.
        write_i16: i16 = to_be_bytes;
        /// Writes a `u32`, big-endian. Not cancel-safe.
        write_u32: u32 = to_be_bytes;
        /// Writes an `i32`, big-endian. Not cancel-safe.
        write_i32: i32 = to_be_bytes;
        /// Writes a `u64`, big-endian. Not cancel-safe.
        write_u64: u64 = to_be_bytes;
        /// Writes an `i64`, big-endian. Not cancel-safe.
        write_i64: i64 = to_be_bytes;
        /// Writes a `u128`, big-endian. Not cancel-safe.
        write_u128: u128 = to_be_bytes;
        /// Writes an `i128`, big-endian. Not cancel-safe.
        write_i128: i128 = to_be_bytes;
        /// Writes an IEEE 754 `f32`, big-endian. Not cancel-safe.
        write_f32: f32 = to_be_bytes;
        /// Writes an IEEE 754 `f64`, big-endian. Not cancel-safe.
        write_f64: f64 = to_be_bytes;
        /// Writes a `u16`, little-endian. Not cancel-safe.
        write_u16_le: u16 = to_le_bytes;
        /// Writes an `i16`, little-endian. Not cancel-safe.
        write_i16_le: i16 = to_le_bytes;
        /// Writes a `u32`, little-endian. Not cancel-safe.
        write_u32_le: u32 = to_le_bytes;
        /// Writes an `i32`, little-endian. Not cancel-safe.
        write_i32_le: i32 = to_le_bytes;
        /// Writes a `u64`, little-endian. Not cancel-safe.
        write_u64_le: u64 = to_le_bytes;
        /// Writes an `i64`, little-endian. Not cancel-safe.
        write_i64_le: i64 = to_le_bytes;
        /// Writes a `u128`, little-endian. Not cancel-safe.
        write_u128_le: u128 = to_le_bytes;
        /// Writes an `i128`, little-endian. Not cancel-safe.
        write_i128_le: i128 = to_le_bytes;
        /// Writes an IEEE 754 `f32`, little-endian. Not cancel-safe.
        write_f32_le: f32 = to_le_bytes;
        /// Writes an IEEE 754 `f64`, little-endian. Not cancel-safe.
        write_f64_le: f64 = to_le_bytes;
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}
