//! Implementations of the I/O traits shared by the stream types and their
//! halves (`futures-io`'s always, hyper's `rt` traits with the `hyper`
//! feature, tokio's with `tokio-io`), and of the fd traits shared by every
//! socket type.
//!
//! Each macro takes the type and a closure-like `|s| expr` that turns
//! `s: &Self` into a value with the crate-private methods `poll_read_priv`,
//! `poll_read_vectored_priv`, `poll_read_uninit_priv` (read side) or
//! `poll_write_priv`, `poll_write_vectored_priv` and `close_write` (write
//! side).
//!
//! hyper's and tokio's read traits hand over a buffer that may be
//! uninitialised memory; the impls here let the kernel's `recv` write
//! straight into it (`poll_read_uninit_priv`) and then mark the bytes it
//! wrote as filled, so no byte is zeroed first. Writes, flush and shutdown
//! mean what they mean for `futures-io`: flush has nothing to do (bytes go
//! straight to the kernel) and shutdown shuts down the write direction.

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

/// Implements hyper's `rt::Read` and `rt::Write` (feature `hyper`) for a
/// stream type, reading into hyper's buffer without initialising it.
#[cfg(feature = "hyper")]
macro_rules! impl_hyper_io {
    ($ty:ty, |$s:ident| $get:expr) => {
        impl ::hyper::rt::Read for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                mut buf: ::hyper::rt::ReadBufCursor<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $s = &*self;
                // SAFETY: `as_mut` asks that no initialised byte be made
                // uninitialised; the slice is only ever written to by the
                // kernel's `recv` (`sys::io::recv_uninit`), with data.
                let unfilled = unsafe { buf.as_mut() };
                let len = unfilled.len();
                let n = std::task::ready!($get.poll_read_uninit_priv(cx, unfilled))?;
                debug_assert!(n <= len, "recv returned more than the buffer");
                // SAFETY: `advance` asks that the next `n` bytes be
                // initialised: on `Ok(n)` the kernel wrote exactly the first
                // `n` bytes of `unfilled`, which starts at the cursor, and
                // `n <= unfilled.len()` (recv(2) never returns more).
                unsafe { buf.advance(n) };
                std::task::Poll::Ready(Ok(()))
            }
        }

        crate::macros::impl_shutdown_write!(::hyper::rt::Write, $ty, |$s| $get);
    };
}
#[cfg(feature = "hyper")]
pub(crate) use impl_hyper_io;

/// Implements tokio's `AsyncRead` (feature `tokio-io`), reading into the
/// `ReadBuf`'s unfilled part without initialising it.
#[cfg(feature = "tokio-io")]
macro_rules! impl_tokio_read {
    ($ty:ty, |$s:ident| $get:expr) => {
        impl ::tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut ::tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $s = &*self;
                // SAFETY: `unfilled_mut` asks that no initialised byte be
                // made uninitialised; the slice is only ever written to by
                // the kernel's `recv` (`sys::io::recv_uninit`), with data.
                let unfilled = unsafe { buf.unfilled_mut() };
                let len = unfilled.len();
                let n = std::task::ready!($get.poll_read_uninit_priv(cx, unfilled))?;
                debug_assert!(n <= len, "recv returned more than the buffer");
                // SAFETY: `assume_init` asks that the `n` bytes after the
                // filled part be initialised: on `Ok(n)` the kernel wrote
                // exactly the first `n` bytes of the unfilled part, and
                // `n <= len` (recv(2) never returns more than asked).
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                std::task::Poll::Ready(Ok(()))
            }
        }
    };
}
#[cfg(feature = "tokio-io")]
pub(crate) use impl_tokio_read;

/// Implements tokio's `AsyncWrite` (feature `tokio-io`); `poll_shutdown`
/// shuts down the write direction (the peer reads EOF), `poll_flush` has
/// nothing to do.
#[cfg(feature = "tokio-io")]
macro_rules! impl_tokio_write {
    ($ty:ty, |$s:ident| $get:expr) => {
        crate::macros::impl_shutdown_write!(::tokio::io::AsyncWrite, $ty, |$s| $get);
    };
}
#[cfg(feature = "tokio-io")]
pub(crate) use impl_tokio_write;

/// Implements a write trait of the shape that hyper's `rt::Write` and
/// tokio's `AsyncWrite` share: vectored writes (`sendmsg` takes up to
/// IOV_MAX slices per call), a `poll_flush` with nothing to do (bytes go
/// straight to the kernel) and a `poll_shutdown` that shuts down the write
/// direction (the peer reads EOF).
#[cfg(any(feature = "hyper", feature = "tokio-io"))]
macro_rules! impl_shutdown_write {
    ($tr:path, $ty:ty, |$s:ident| $get:expr) => {
        impl $tr for $ty {
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

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $s = &*self;
                std::task::Poll::Ready($get.close_write())
            }
        }
    };
}
#[cfg(any(feature = "hyper", feature = "tokio-io"))]
pub(crate) use impl_shutdown_write;
