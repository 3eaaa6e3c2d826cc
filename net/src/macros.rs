//! Implementations of the `futures-io` traits shared by the stream types and
//! their halves, and of the fd traits shared by every socket type.
//!
//! Each macro takes the type and a closure-like `|s| expr` that turns
//! `s: &Self` into a value with the crate-private methods `poll_read_priv`,
//! `poll_read_vectored_priv` (read side) or `poll_write_priv`,
//! `poll_write_vectored_priv` and `close_write` (write side).

/// Implements `futures_io::AsyncRead`.
macro_rules! impl_async_read {
    ($ty:ty, |$s:ident| $get:expr) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $get.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $get.poll_read_vectored_priv(cx, bufs)
            }
        }
    };
}
pub(crate) use impl_async_read;

/// Implements `futures_io::AsyncWrite`; `poll_close` shuts down the write
/// half (the peer reads EOF), `poll_flush` has nothing to do.
macro_rules! impl_async_write {
    ($ty:ty, |$s:ident| $get:expr) => {
        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $get.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $get.poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                // Bytes go straight to the kernel; there is nothing to flush.
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $s = &*self;
                std::task::Poll::Ready($get.close_write())
            }
        }
    };
}
pub(crate) use impl_async_write;

/// Implements `AsRawFd` and `AsFd` for a socket type; `|s| expr` turns
/// `s: &Self` into the owned OS object (a std socket or an `OwnedFd`).
macro_rules! impl_as_fd {
    ($ty:ty, |$s:ident| $get:expr) => {
        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                let $s = self;
                std::os::fd::AsRawFd::as_raw_fd($get)
            }
        }

        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                let $s = self;
                std::os::fd::AsFd::as_fd($get)
            }
        }
    };
}
pub(crate) use impl_as_fd;
