//! [`HyperIo`]: between `futures-io`'s traits and hyper's `rt` traits.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// Adapts an I/O type between `futures-io`'s traits and hyper's `rt`
/// traits, in both directions:
///
/// - a `futures-io` [`AsyncRead`] + [`AsyncWrite`] type (a TLS stream, a
///   buffered wrapper, a type of your own) becomes a `hyper::rt::Read` +
///   `hyper::rt::Write` for hyper's connections;
/// - a hyper I/O type (such as `hyper::upgrade::Upgraded`) becomes a
///   `futures-io` stream for [`runtime::io`](crate::io)'s utilities.
///
/// **Pass [`TcpStream`](crate::net::TcpStream) and
/// [`UnixStream`](crate::net::UnixStream) to hyper directly**, not
/// through this: they implement hyper's traits themselves and read
/// straight into hyper's uninitialised buffer. `futures-io`'s `poll_read`
/// takes an initialised `&mut [u8]`, so this adapter must zero the spare
/// part of hyper's buffer before every read (see the [module
/// docs](crate::hyper)).
///
/// Writes, vectored writes, flush and close/shutdown are passed through
/// (`poll_close` is hyper's `poll_shutdown` and the other way round).
///
/// # Examples
///
/// ```no_run
/// use std::convert::Infallible;
///
/// use http_body_util::Empty;
/// use hyper::body::{Bytes, Incoming};
/// use hyper::server::conn::http1;
/// use hyper::service::service_fn;
/// use hyper::{Request, Response};
/// use runtime::hyper::HyperIo;
/// use runtime::io::BufReader;
/// use runtime::net::TcpListener;
///
/// async fn empty(_: Request<Incoming>) -> Result<Response<Empty<Bytes>>, Infallible> {
///     Ok(Response::new(Empty::new()))
/// }
///
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// let listener = TcpListener::bind("127.0.0.1:8080").await?;
/// let (stream, _) = listener.accept().await?;
/// // Some futures-io wrapper around the stream (a TLS stream, in practice).
/// let wrapped = BufReader::new(stream);
/// http1::Builder::new()
///     .serve_connection(HyperIo::new(wrapped), service_fn(empty))
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct HyperIo<T> {
    /// The wrapped I/O object, pinned structurally (see `inner_pin`).
    inner: T,
}

impl<T> HyperIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> HyperIo<T> {
        HyperIo { inner }
    }

    /// The wrapped object.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped object, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the object.
    pub fn into_inner(self) -> T {
        self.inner
    }

    fn inner_pin(self: Pin<&mut Self>) -> Pin<&mut T> {
        // SAFETY: structural pinning: a pinned `HyperIo` never moves
        // `inner` (`inner_mut` and `into_inner` need an unpinned `HyperIo`,
        // which for a `!Unpin` `T` cannot be had from a pinned one), it has
        // no `Drop`, and it is `Unpin` only when `T` is.
        unsafe { self.map_unchecked_mut(|s| &mut s.inner) }
    }
}

impl<T: AsyncRead> ::hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ::hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: `as_mut` asks that no initialised byte be made
        // uninitialised; the slice is only overwritten with zeros below.
        let unfilled = unsafe { buf.as_mut() };
        let len = unfilled.len();
        let ptr = unfilled.as_mut_ptr().cast::<u8>();
        // SAFETY: `ptr` is valid for writes of `len` bytes (it is the
        // slice's own pointer and length).
        unsafe { std::ptr::write_bytes(ptr, 0, len) };
        // SAFETY: the `len` bytes at `ptr` were all initialised just above,
        // and the exclusive borrow of `unfilled` ends here (it is not used
        // again), so this is the only reference to them.
        let init = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
        let n = ready!(self.inner_pin().poll_read(cx, init))?;
        // A misbehaving `poll_read` must not make hyper believe bytes past
        // the buffer were filled.
        assert!(
            n <= len,
            "`AsyncRead::poll_read` returned {n} bytes for a buffer of {len}"
        );
        // SAFETY: `advance` asks that the next `n` bytes be initialised:
        // all `len >= n` bytes after the cursor were zeroed above.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite> ::hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner_pin().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner_pin().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        // `futures-io` has no way to ask; its default `poll_write_vectored`
        // writes the first non-empty slice only, so hyper is told to
        // flatten (it then writes one buffer per call).
        false
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner_pin().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner_pin().poll_close(cx)
    }
}

impl<T: ::hyper::rt::Read> AsyncRead for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read_buf = ::hyper::rt::ReadBuf::new(buf);
        ready!(::hyper::rt::Read::poll_read(
            self.inner_pin(),
            cx,
            read_buf.unfilled()
        ))?;
        Poll::Ready(Ok(read_buf.filled().len()))
    }
}

impl<T: ::hyper::rt::Write> AsyncWrite for HyperIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ::hyper::rt::Write::poll_write(self.inner_pin(), cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ::hyper::rt::Write::poll_write_vectored(self.inner_pin(), cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ::hyper::rt::Write::poll_flush(self.inner_pin(), cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ::hyper::rt::Write::poll_shutdown(self.inner_pin(), cx)
    }
}
