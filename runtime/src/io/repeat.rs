use std::fmt;
use std::io::{self, IoSliceMut};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use runtime_reactor::coop;

use super::AsyncRead;

/// A reader that yields one byte over and over: made by [`repeat`].
///
/// Every read fills the whole buffer at once and spends one unit of the
/// task's cooperative budget, so a loop over it yields to the other tasks
/// (and lets a [`timeout`](crate::time::timeout) around it fire), as with
/// tokio's `Repeat`.
#[derive(Clone, Copy)]
pub struct Repeat {
    byte: u8,
}

/// Creates a reader that never ends, each read filling its buffer with
/// `byte`.
///
/// # Examples
///
/// ```
/// use runtime::io::AsyncReadExt;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let mut buf = [0u8; 3];
/// runtime::io::repeat(b'x').read_exact(&mut buf).await.unwrap();
/// assert_eq!(&buf, b"xxx");
/// # });
/// ```
pub fn repeat(byte: u8) -> Repeat {
    Repeat { byte }
}

impl AsyncRead for Repeat {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        ready!(coop::poll_proceed_and_make_progress(cx));
        buf.fill(self.byte);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(coop::poll_proceed_and_make_progress(cx));
        let mut n = 0;
        for buf in bufs {
            buf.fill(self.byte);
            n += buf.len();
        }
        Poll::Ready(Ok(n))
    }
}

impl fmt::Debug for Repeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Repeat").field("byte", &self.byte).finish()
    }
}
