use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use runtime_reactor::coop;

use super::AsyncWrite;

/// A writer that accepts every byte and drops it: made by [`sink`].
///
/// Every poll completes at once and spends one unit of the task's
/// cooperative budget, so a loop over it yields to the other tasks (and lets
/// a [`timeout`](crate::time::timeout) around it fire), as with tokio's
/// `Sink`.
#[derive(Clone, Copy, Default)]
pub struct Sink {
    _private: (),
}

/// Creates a writer that takes every write whole and discards it.
///
/// # Examples
///
/// ```
/// use runtime::io::AsyncWriteExt;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let mut s = runtime::io::sink();
/// assert_eq!(s.write(b"gone").await.unwrap(), 4);
/// s.flush().await.unwrap();
/// # });
/// ```
pub fn sink() -> Sink {
    Sink { _private: () }
}

impl AsyncWrite for Sink {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(coop::poll_proceed_and_make_progress(cx));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(coop::poll_proceed_and_make_progress(cx));
        Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(coop::poll_proceed_and_make_progress(cx));
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(coop::poll_proceed_and_make_progress(cx));
        Poll::Ready(Ok(()))
    }
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Sink { .. }")
    }
}
