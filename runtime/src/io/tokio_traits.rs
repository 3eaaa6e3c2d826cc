//! tokio's `AsyncRead`/`AsyncWrite` (feature `tokio-io`) for this crate's
//! own I/O types ([`fs::File`](crate::fs::File), the child pipes of
//! [`process`](crate::process)), over their `futures-io` impls. The
//! sockets get theirs in `runtime-net`.

/// tokio's `AsyncRead` for a type with `futures-io`'s: reads into the
/// unfilled part of the `ReadBuf` (initialised once per buffer, which
/// `ReadBuf` remembers).
macro_rules! tokio_read {
    ($ty:ty) => {
        #[cfg(feature = "tokio-io")]
        impl ::tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &mut ::tokio::io::ReadBuf<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                let dst = buf.initialize_unfilled();
                let n =
                    ::std::task::ready!(<Self as $crate::io::AsyncRead>::poll_read(self, cx, dst))?;
                buf.advance(n);
                ::std::task::Poll::Ready(Ok(()))
            }
        }
    };
}

/// tokio's `AsyncWrite` for a type with `futures-io`'s: `poll_shutdown`
/// is `poll_close`.
macro_rules! tokio_write {
    ($ty:ty) => {
        #[cfg(feature = "tokio-io")]
        impl ::tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                <Self as $crate::io::AsyncWrite>::poll_write(self, cx, buf)
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                <Self as $crate::io::AsyncWrite>::poll_flush(self, cx)
            }

            fn poll_shutdown(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                <Self as $crate::io::AsyncWrite>::poll_close(self, cx)
            }
        }
    };
}

pub(crate) use {tokio_read, tokio_write};
