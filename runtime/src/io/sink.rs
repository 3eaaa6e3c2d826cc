use std::fmt;

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

/// Implements `AsyncWrite` for a writer that takes every write whole and
/// drops it, each poll spending one unit of budget: [`Sink`], and
/// [`Empty`](super::Empty)'s write side.
macro_rules! impl_discarding_write {
    ($ty:ty) => {
        impl $crate::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::task::ready!(runtime_reactor::coop::poll_proceed_and_make_progress(cx));
                std::task::Poll::Ready(Ok(buf.len()))
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::task::ready!(runtime_reactor::coop::poll_proceed_and_make_progress(cx));
                std::task::Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()))
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::ready!(runtime_reactor::coop::poll_proceed_and_make_progress(cx));
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::ready!(runtime_reactor::coop::poll_proceed_and_make_progress(cx));
                std::task::Poll::Ready(Ok(()))
            }
        }
    };
}
pub(super) use impl_discarding_write;

impl_discarding_write!(Sink);

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Sink { .. }")
    }
}
