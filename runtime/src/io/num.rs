//! The futures of [`AsyncReadExt`](super::AsyncReadExt)'s `read_u8` …
//! `read_f64_le` and [`AsyncWriteExt`](super::AsyncWriteExt)'s `write_u8`
//! … `write_f64_le`: one number as its bytes in a fixed byte order.
//!
//! One future type for each direction, generic over the number: the bytes
//! go through a 16-byte array (the widest number is `u128`) and a decoding
//! function, so each method is a line in a macro rather than a type.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::{AsyncRead, AsyncWrite};

/// The widest number, `u128`, in bytes.
const MAX: usize = 16;

/// Future of `read_u8`, `read_u16`, … `read_f64_le`: reads
/// `size_of::<T>()` bytes and decodes them; the stream ending first is an
/// `UnexpectedEof` error.
#[must_use = "futures do nothing unless polled"]
pub struct ReadNum<'a, R: ?Sized, T> {
    reader: &'a mut R,
    buf: [u8; MAX],
    len: u8,
    filled: u8,
    decode: fn(&[u8]) -> T,
}

impl<'a, R: ?Sized, T> ReadNum<'a, R, T> {
    pub(super) fn new(reader: &'a mut R, len: usize, decode: fn(&[u8]) -> T) -> Self {
        debug_assert!(len <= MAX);
        ReadNum {
            reader,
            buf: [0; MAX],
            len: len as u8,
            filled: 0,
            decode,
        }
    }
}

impl<R: ?Sized, T> fmt::Debug for ReadNum<'_, R, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadNum")
            .field("len", &self.len)
            .field("filled", &self.filled)
            .finish_non_exhaustive()
    }
}

impl<R: AsyncRead + Unpin + ?Sized, T> Future for ReadNum<'_, R, T> {
    type Output = io::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        // Every field is `Unpin` (a reference, bytes, a function pointer).
        let this = self.get_mut();
        let len = usize::from(this.len);
        while usize::from(this.filled) < len {
            let rest = &mut this.buf[usize::from(this.filled)..len];
            match ready!(Pin::new(&mut *this.reader).poll_read(cx, rest)) {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the stream ended {} byte(s) into a {len}-byte number",
                            this.filled
                        ),
                    )))
                }
                // A reader that claims more than it was given is not
                // trusted with the slice's end.
                Ok(n) => this.filled += n.min(rest.len()) as u8,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok((this.decode)(&this.buf[..len])))
    }
}

/// Future of `write_u8`, `write_u16`, … `write_f64_le`: writes the
/// number's bytes, all of them; a writer that accepts none is a
/// `WriteZero` error.
#[must_use = "futures do nothing unless polled"]
pub struct WriteNum<'a, W: ?Sized> {
    writer: &'a mut W,
    buf: [u8; MAX],
    len: u8,
    written: u8,
}

impl<'a, W: ?Sized> WriteNum<'a, W> {
    pub(super) fn new(writer: &'a mut W, bytes: &[u8]) -> Self {
        debug_assert!(bytes.len() <= MAX);
        let mut buf = [0; MAX];
        buf[..bytes.len()].copy_from_slice(bytes);
        WriteNum {
            writer,
            buf,
            len: bytes.len() as u8,
            written: 0,
        }
    }
}

impl<W: ?Sized> fmt::Debug for WriteNum<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteNum")
            .field("len", &self.len)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteNum<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let len = usize::from(this.len);
        while usize::from(this.written) < len {
            let rest = &this.buf[usize::from(this.written)..len];
            match ready!(Pin::new(&mut *this.writer).poll_write(cx, rest)) {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the writer accepted no bytes of a number",
                    )))
                }
                Ok(n) => this.written += n.min(rest.len()) as u8,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// For each `(method, type, from_bytes)`, a reading method decoding with
/// `type::from_bytes`.
macro_rules! read_methods {
    ($($(#[$doc:meta])* $name:ident: $ty:ty = $from:ident;)*) => {
        $(
            $(#[$doc])*
            fn $name(&mut self) -> ReadNum<'_, Self, $ty>
            where
                Self: Unpin,
            {
                ReadNum::new(self, std::mem::size_of::<$ty>(), |b| {
                    <$ty>::$from(b.try_into().expect("ReadNum fills exactly the number's width"))
                })
            }
        )*
    };
}

/// For each `(method, type, to_bytes)`, a writing method encoding with
/// `type::to_bytes`.
macro_rules! write_methods {
    ($($(#[$doc:meta])* $name:ident: $ty:ty = $to:ident;)*) => {
        $(
            $(#[$doc])*
            fn $name(&mut self, n: $ty) -> WriteNum<'_, Self>
            where
                Self: Unpin,
            {
                WriteNum::new(self, &n.$to())
            }
        )*
    };
}

pub(super) use {read_methods, write_methods};
