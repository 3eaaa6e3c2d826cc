//! [`AsyncBufReadExt`]: the methods of every [`AsyncBufRead`], with tokio's
//! [`Lines`] (`next_line`) and [`Split`] (`next_segment`).

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::io::{AsyncBufReadExt as FuturesBufReadExt, FillBuf, ReadLine, ReadUntil};
use futures_util::stream::Stream;

use super::AsyncBufRead;

/// Methods on every [`AsyncBufRead`] (a [`BufReader`](super::BufReader)
/// around a socket, say): `read_line`, `read_until`, `lines`, `split`, …
///
/// `fill_buf`, `consume_unpin`, `read_until` and `read_line` are
/// `futures-util`'s methods of the same name, with that crate's
/// behaviour: `read_until` appends to its buffer as it reads, so a dropped
/// call loses nothing (call it again to go on); `read_line` is not
/// cancel-safe (what a dropped call had read is lost).
///
/// [`lines`](AsyncBufReadExt::lines) and [`split`](AsyncBufReadExt::split)
/// are tokio's: [`Lines::next_line`] and [`Split::next_segment`] are
/// cancel-safe (a partial line waits inside the `Lines` for the next
/// call), and both types are also [`Stream`]s, as `futures-util`'s `lines`
/// is.
///
/// Importing `futures-util`'s (or `futures`') `AsyncBufReadExt` as well
/// makes the shared method names ambiguous: import one of the two.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
/// use runtime::net::UnixStream;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (mut a, b) = UnixStream::pair()?;
/// a.write_all(b"GET /\r\nHost: x\n\nlast").await?;
/// drop(a);
/// let mut lines = BufReader::new(b).lines();
/// assert_eq!(lines.next_line().await?.as_deref(), Some("GET /"));
/// assert_eq!(lines.next_line().await?.as_deref(), Some("Host: x"));
/// assert_eq!(lines.next_line().await?.as_deref(), Some(""));
/// assert_eq!(lines.next_line().await?.as_deref(), Some("last"));
/// assert_eq!(lines.next_line().await?, None);
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub trait AsyncBufReadExt: AsyncBufRead {
    /// The buffered bytes, reading more first if there are none (empty:
    /// end of file). Cancel-safe.
    fn fill_buf(&mut self) -> FillBuf<'_, Self>
    where
        Self: Unpin,
    {
        FuturesBufReadExt::fill_buf(self)
    }

    /// Marks `amt` buffered bytes as read.
    fn consume_unpin(&mut self, amt: usize)
    where
        Self: Unpin,
    {
        FuturesBufReadExt::consume_unpin(self, amt)
    }

    /// Reads up to and including `byte` (or to end of file), appending to
    /// `buf`; returns how many bytes. Appends as it reads: a dropped call
    /// has lost nothing.
    fn read_until<'a>(&'a mut self, byte: u8, buf: &'a mut Vec<u8>) -> ReadUntil<'a, Self>
    where
        Self: Unpin,
    {
        FuturesBufReadExt::read_until(self, byte, buf)
    }

    /// Reads up to and including `\n` (or to end of file), appending to
    /// `buf`; returns how many bytes. Invalid UTF-8 is an `InvalidData`
    /// error. Not cancel-safe.
    fn read_line<'a>(&'a mut self, buf: &'a mut String) -> ReadLine<'a, Self>
    where
        Self: Unpin,
    {
        FuturesBufReadExt::read_line(self, buf)
    }

    /// The lines of the reader: [`Lines::next_line`] gives each without
    /// its `\n` or `\r\n`; a last line without one is a line too.
    fn lines(self) -> Lines<Self>
    where
        Self: Sized,
    {
        Lines {
            reader: self,
            buf: Vec::new(),
        }
    }

    /// The segments of the reader separated by `byte`:
    /// [`Split::next_segment`] gives each without the separator; a last
    /// segment without one is a segment too.
    fn split(self, byte: u8) -> Split<Self>
    where
        Self: Sized,
    {
        Split {
            reader: self,
            delim: byte,
            buf: Vec::new(),
        }
    }
}

impl<R: AsyncBufRead + ?Sized> AsyncBufReadExt for R {}

/// Reads into `buf` up to and including `delim`: `true` when `delim` was
/// found, `false` at end of file (with what came before it in `buf`). The
/// bytes are in `buf` as soon as they are read, so a caller that stops
/// polling loses nothing.
fn poll_segment<R: AsyncBufRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    delim: u8,
    buf: &mut Vec<u8>,
) -> Poll<io::Result<bool>> {
    loop {
        let available = match ready!(reader.as_mut().poll_fill_buf(cx)) {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if available.is_empty() {
            return Poll::Ready(Ok(false));
        }
        if let Some(i) = available.iter().position(|&b| b == delim) {
            buf.extend_from_slice(&available[..=i]);
            reader.as_mut().consume(i + 1);
            return Poll::Ready(Ok(true));
        }
        let n = available.len();
        buf.extend_from_slice(available);
        reader.as_mut().consume(n);
    }
}

/// The lines of an [`AsyncBufRead`], from [`AsyncBufReadExt::lines`].
#[must_use = "streams do nothing unless polled"]
pub struct Lines<R> {
    reader: R,
    /// The line read so far.
    buf: Vec<u8>,
}

impl<R> Lines<R> {
    /// The reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader, mutably (reading from it directly skips the lines'
    /// bytes it takes).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The reader, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
        // SAFETY: `reader` is pinned structurally: no method moves it out
        // of a pinned `Lines` (`into_inner` takes `self` by value, which a
        // pinned `Lines` of a `!Unpin` reader cannot give), there is no
        // `Drop` impl, and `Lines` is `Unpin` only when `R` is.
        unsafe { self.map_unchecked_mut(|l| &mut l.reader) }
    }

    /// The reader back; a partial line read so far is dropped.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead> Lines<R> {
    /// The next line, without its `\n` or `\r\n`; `None` at end of file.
    /// A line that is not UTF-8 is an `InvalidData` error (and is
    /// dropped). Cancel-safe: a partial line waits here for the next call.
    pub async fn next_line(&mut self) -> io::Result<Option<String>>
    where
        Self: Unpin,
    {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next_line(cx)).await
    }

    /// Polls for the next line: [`next_line`](Lines::next_line) as a poll
    /// function.
    pub fn poll_next_line(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<String>>> {
        // SAFETY: as in `get_pin_mut`: `reader` is pinned structurally and
        // only re-pinned here; `buf` is not pinned and is only mutated in
        // place.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        let reader = unsafe { Pin::new_unchecked(&mut this.reader) };
        let found = ready!(poll_segment(reader, cx, b'\n', &mut this.buf))?;
        if !found && this.buf.is_empty() {
            return Poll::Ready(Ok(None));
        }
        if found {
            this.buf.pop();
            if this.buf.last() == Some(&b'\r') {
                this.buf.pop();
            }
        }
        let line = std::mem::take(&mut this.buf);
        Poll::Ready(match String::from_utf8(line) {
            Ok(line) => Ok(Some(line)),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a line of the stream is not valid UTF-8",
            )),
        })
    }
}

impl<R: AsyncBufRead> Stream for Lines<R> {
    type Item = io::Result<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<String>>> {
        self.poll_next_line(cx).map(Result::transpose)
    }
}

impl<R: fmt::Debug> fmt::Debug for Lines<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines")
            .field("reader", &self.reader)
            .field("partial", &self.buf.len())
            .finish()
    }
}

/// The segments of an [`AsyncBufRead`] between a separator byte, from
/// [`AsyncBufReadExt::split`].
#[must_use = "streams do nothing unless polled"]
pub struct Split<R> {
    reader: R,
    delim: u8,
    /// The segment read so far.
    buf: Vec<u8>,
}

impl<R> Split<R> {
    /// The reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader, mutably.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The reader back; a partial segment read so far is dropped.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead> Split<R> {
    /// The next segment, without the separator; `None` at end of file.
    /// Cancel-safe: a partial segment waits here for the next call.
    pub async fn next_segment(&mut self) -> io::Result<Option<Vec<u8>>>
    where
        Self: Unpin,
    {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next_segment(cx)).await
    }

    /// Polls for the next segment: [`next_segment`](Split::next_segment)
    /// as a poll function.
    pub fn poll_next_segment(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<Vec<u8>>>> {
        // SAFETY: `reader` is pinned structurally, as in `Lines` (no method
        // moves it out of a pinned `Split`, no `Drop` impl, `Unpin` only
        // when `R` is); `buf` and `delim` are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        let reader = unsafe { Pin::new_unchecked(&mut this.reader) };
        let found = ready!(poll_segment(reader, cx, this.delim, &mut this.buf))?;
        if !found && this.buf.is_empty() {
            return Poll::Ready(Ok(None));
        }
        if found {
            this.buf.pop();
        }
        Poll::Ready(Ok(Some(std::mem::take(&mut this.buf))))
    }
}

impl<R: AsyncBufRead> Stream for Split<R> {
    type Item = io::Result<Vec<u8>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Vec<u8>>>> {
        self.poll_next_segment(cx).map(Result::transpose)
    }
}

impl<R: fmt::Debug> fmt::Debug for Split<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Split")
            .field("reader", &self.reader)
            .field("delim", &self.delim)
            .field("partial", &self.buf.len())
            .finish()
    }
}
