//! [`AsyncReadExt`]: the read methods of every [`AsyncRead`].

use std::io::IoSliceMut;

use futures_util::io::{
    AsyncReadExt as FuturesReadExt, Chain, Read, ReadExact, ReadToEnd, ReadToString, ReadVectored,
    Take,
};

#[cfg(feature = "bytes")]
use super::buf::ReadBuf;
use super::num::{read_methods, ReadNum};
use super::AsyncRead;

/// Methods on every [`AsyncRead`]: `read`, `read_exact`, `read_to_end`,
/// `read_u32`, …
///
/// The byte-level methods are `futures-util`'s method of the same name (it
/// returns `futures-util`'s future), so their behaviour and cancel-safety
/// are that crate's: `read` is cancel-safe (no data is lost if the future
/// is dropped before it completes), `read_exact`, `read_to_end` and
/// `read_to_string` are not (data read so far is in the buffer, but how
/// much is not reported).
///
/// With the `bytes` feature, `read_buf` is tokio's: one read into a
/// `bytes::BufMut` (a `BytesMut` that grows as needed), cancel-safe.
///
/// The number methods are tokio's: `read_u8`, `read_i8`, and for 16 to 128
/// bits `read_u16`, `read_i32`, `read_f64`, … (big-endian, network order)
/// and `read_u16_le`, … (little-endian). Each reads exactly the number's
/// width; the stream ending first is an `UnexpectedEof` error. `read_u8`
/// and `read_i8` are cancel-safe (one byte is read or none); the wider
/// ones are not (a partial number read before the future is dropped is
/// lost).
///
/// # Differences from `futures-util`'s trait
///
/// There is no `split` method. With one, `stream.split()` on a
/// [`TcpStream`](crate::net::TcpStream) would pick the trait's `split`,
/// which takes the stream by value (method lookup tries the by-value
/// receiver before the `&mut` one of the inherent method) and returns
/// lock-sharing halves. Without it, `stream.split()` is the socket's own
/// lock-free `split(&mut self)`, as in tokio; the generic splitter is the
/// function [`split`](super::split). Importing `futures-util`'s (or
/// `futures`') `AsyncReadExt` as well brings the trap back, and makes the
/// shared method names ambiguous: import one of the two.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::UnixStream;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (mut a, mut b) = UnixStream::pair()?;
/// a.write_all(b"hello").await?;
/// drop(a);
/// let mut text = String::new();
/// b.read_to_string(&mut text).await?;
/// assert_eq!(text, "hello");
/// let (_rd, _wr) = b.split(); // UnixStream::split, borrowed halves
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub trait AsyncReadExt: AsyncRead {
    /// A reader that reads all of `self` and then all of `next`.
    fn chain<R>(self, next: R) -> Chain<Self, R>
    where
        Self: Sized,
        R: AsyncRead,
    {
        FuturesReadExt::chain(self, next)
    }

    /// Reads some bytes into `buf` and returns how many (0: end of file, or
    /// an empty `buf`). Cancel-safe.
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> Read<'a, Self>
    where
        Self: Unpin,
    {
        FuturesReadExt::read(self, buf)
    }

    /// Reads some bytes into `buf`'s spare capacity (its `chunk_mut`),
    /// advances `buf` by that many and returns it (feature `bytes`). 0 is
    /// end of file, or a `buf` with no room left (`remaining_mut() == 0`;
    /// nothing is read then). A `BytesMut` or `Vec` always has room: when
    /// full, its `chunk_mut` grows it. Cancel-safe: dropped before it
    /// completes, it has read nothing.
    ///
    /// One read fills at most 32 KiB: `futures-io`'s `poll_read` takes
    /// initialised bytes, so that much of the spare capacity (or less, if
    /// there is less) is zeroed before each read.
    ///
    /// # Errors
    ///
    /// The reader's; and an error if the reader reports more bytes than it
    /// was given room for (the buffer is left as it was).
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use runtime::io::{AsyncReadExt, AsyncWriteExt};
    /// use runtime::net::UnixStream;
    ///
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// a.write_all(b"hello, world").await?;
    /// drop(a);
    /// let mut buf = BytesMut::with_capacity(4); // grows as it fills
    /// while b.read_buf(&mut buf).await? != 0 {}
    /// assert_eq!(&buf[..], b"hello, world");
    /// # Ok::<_, std::io::Error>(()) }).unwrap();
    /// ```
    #[cfg(feature = "bytes")]
    fn read_buf<'a, B>(&'a mut self, buf: &'a mut B) -> ReadBuf<'a, Self, B>
    where
        Self: Unpin,
        B: bytes::BufMut + ?Sized,
    {
        ReadBuf::new(self, buf)
    }

    /// Reads into several buffers, in order, and returns how many bytes.
    /// Cancel-safe.
    fn read_vectored<'a>(&'a mut self, bufs: &'a mut [IoSliceMut<'a>]) -> ReadVectored<'a, Self>
    where
        Self: Unpin,
    {
        FuturesReadExt::read_vectored(self, bufs)
    }

    /// Reads exactly `buf.len()` bytes; end of file first is an
    /// `UnexpectedEof` error. Not cancel-safe.
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadExact<'a, Self>
    where
        Self: Unpin,
    {
        FuturesReadExt::read_exact(self, buf)
    }

    /// Reads until end of file, appending to `buf`; returns how many bytes.
    /// Not cancel-safe.
    fn read_to_end<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> ReadToEnd<'a, Self>
    where
        Self: Unpin,
    {
        FuturesReadExt::read_to_end(self, buf)
    }

    /// Reads until end of file, appending UTF-8 text to `buf`; invalid
    /// UTF-8 is an `InvalidData` error. Not cancel-safe.
    fn read_to_string<'a>(&'a mut self, buf: &'a mut String) -> ReadToString<'a, Self>
    where
        Self: Unpin,
    {
        FuturesReadExt::read_to_string(self, buf)
    }

    /// A reader of at most `limit` bytes of `self`.
    fn take(self, limit: u64) -> Take<Self>
    where
        Self: Sized,
    {
        FuturesReadExt::take(self, limit)
    }

    read_methods! {
        /// Reads an unsigned byte. Cancel-safe.
        ///
        /// ```
        /// use runtime::io::{AsyncReadExt, AsyncWriteExt};
        /// use runtime::net::UnixStream;
        ///
        /// # runtime::Runtime::new().unwrap().block_on(async {
        /// let (mut a, mut b) = UnixStream::pair()?;
        /// a.write_all(&[7, 0, 0, 1, 2, 2, 1, 0, 0]).await?;
        /// assert_eq!(b.read_u8().await?, 7);
        /// assert_eq!(b.read_u32().await?, 0x0000_0102); // big-endian
        /// assert_eq!(b.read_u32_le().await?, 0x0000_0102); // little-endian
        /// drop(a);
        /// let eof = b.read_u16().await.unwrap_err();
        /// assert_eq!(eof.kind(), std::io::ErrorKind::UnexpectedEof);
        /// # Ok::<_, std::io::Error>(()) }).unwrap();
        /// ```
        read_u8: u8 = from_be_bytes;
        /// Reads a signed byte. Cancel-safe.
        read_i8: i8 = from_be_bytes;
        /// Reads a big-endian `u16`. Not cancel-safe.
        read_u16: u16 = from_be_bytes;
        /// Reads a big-endian `i16`. Not cancel-safe.
        read_i16: i16 = from_be_bytes;
        /// Reads a big-endian `u32`. Not cancel-safe.
        read_u32: u32 = from_be_bytes;
        /// Reads a big-endian `i32`. Not cancel-safe.
        read_i32: i32 = from_be_bytes;
        /// Reads a big-endian `u64`. Not cancel-safe.
        read_u64: u64 = from_be_bytes;
        /// Reads a big-endian `i64`. Not cancel-safe.
        read_i64: i64 = from_be_bytes;
        /// Reads a big-endian `u128`. Not cancel-safe.
        read_u128: u128 = from_be_bytes;
        /// Reads a big-endian `i128`. Not cancel-safe.
        read_i128: i128 = from_be_bytes;
        /// Reads a big-endian IEEE 754 `f32`. Not cancel-safe.
        read_f32: f32 = from_be_bytes;
        /// Reads a big-endian IEEE 754 `f64`. Not cancel-safe.
        read_f64: f64 = from_be_bytes;
        /// Reads a little-endian `u16`. Not cancel-safe.
        read_u16_le: u16 = from_le_bytes;
        /// Reads a little-endian `i16`. Not cancel-safe.
        read_i16_le: i16 = from_le_bytes;
        /// Reads a little-endian `u32`. Not cancel-safe.
        read_u32_le: u32 = from_le_bytes;
        /// Reads a little-endian `i32`. Not cancel-safe.
        read_i32_le: i32 = from_le_bytes;
        /// Reads a little-endian `u64`. Not cancel-safe.
        read_u64_le: u64 = from_le_bytes;
        /// Reads a little-endian `i64`. Not cancel-safe.
        read_i64_le: i64 = from_le_bytes;
        /// Reads a little-endian `u128`. Not cancel-safe.
        read_u128_le: u128 = from_le_bytes;
        /// Reads a little-endian `i128`. Not cancel-safe.
        read_i128_le: i128 = from_le_bytes;
        /// Reads a little-endian IEEE 754 `f32`. Not cancel-safe.
        read_f32_le: f32 = from_le_bytes;
        /// Reads a little-endian IEEE 754 `f64`. Not cancel-safe.
        read_f64_le: f64 = from_le_bytes;
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}
