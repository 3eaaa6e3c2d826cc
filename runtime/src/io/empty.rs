use std::fmt;
use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use runtime_reactor::coop;

use super::{AsyncBufRead, AsyncRead, AsyncSeek};

/// A reader that is always at end of file and a writer that accepts and
/// discards everything: made by [`empty`].
///
/// Every poll completes at once and spends one unit of the task's
/// cooperative budget, so a loop over it yields to the other tasks (and lets
/// a [`timeout`](crate::time::timeout) around it fire), as with tokio's
/// `Empty`.
#[derive(Clone, Copy, Default)]
pub struct Empty {
    _private: (),
}

/// Creates a reader that always reads 0 bytes (end of file) and a writer that
/// accepts every byte and drops it (like [`sink`](super::sink)).
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let mut e = runtime::io::empty();
/// let mut buf = Vec::new();
/// assert_eq!(e.read_to_end(&mut buf).await.unwrap(), 0);
/// assert_eq!(e.write(b"gone").await.unwrap(), 4);
/// # });
/// ```
pub fn empty() -> Empty {
    Empty { _private: () }
}

impl AsyncRead for Empty {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        ready!(coop::poll_proceed_and_make_progress(cx));
        Poll::Ready(Ok(0))
    }
}

impl AsyncBufRead for Empty {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        ready!(coop::poll_proceed_and_make_progress(cx));
        Poll::Ready(Ok(&[]))
    }

    fn consume(self: Pin<&mut Self>, _amt: usize) {}
}

super::sink::impl_discarding_write!(Empty);

impl AsyncSeek for Empty {
    /// Every position of an empty stream is 0.
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        ready!(coop::poll_proceed_and_make_progress(cx));
        Poll::Ready(Ok(0))
    }
}

impl fmt::Debug for Empty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Empty { .. }")
    }
}
