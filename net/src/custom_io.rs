//! What tokio gives every socket type for the system calls it does not
//! wrap (`try_io`, `async_io`: run the call against the reactor's
//! readiness, clearing it on `WouldBlock`), and the `poll_*_ready`
//! methods, one macro each, invoked in the type's own module.

/// `try_io` and `async_io` for a type whose field `io` is a
/// `PollEvented`; `$what` names the type in the docs.
macro_rules! impl_custom_io {
    ($ty:ty, $what:literal) => {
        impl $ty {
            #[doc = concat!("Runs `f`, a non-blocking operation on the ", $what, "'s fd")]
            /// that this type does not wrap (a `recvmsg` with control
            /// messages, an `ioctl`), if the reactor has seen the fd ready
            /// in a direction of `interest`; `WouldBlock` without calling
            /// `f` if not.
            ///
            /// `f` must do the I/O itself (for example through
            /// [`AsRawFd`](std::os::fd::AsRawFd)) and return the OS error
            /// as is: a `WouldBlock` from `f` clears the readiness, so
            /// that the next wait waits for a new event. Returning
            /// `WouldBlock` without the kernel having said so loses a
            /// wake-up; calling a blocking operation blocks the thread.
            ///
            /// # Errors
            ///
            /// `WouldBlock`, or what `f` returns.
            pub fn try_io<R>(
                &self,
                interest: $crate::Interest,
                f: impl FnOnce() -> std::io::Result<R>,
            ) -> std::io::Result<R> {
                self.io.registration().try_io_interest(interest, f)
            }

            /// Waits until the reactor sees the fd ready in a direction of
            /// `interest` and runs `f`, again after each `WouldBlock` (as
            #[doc = concat!("[`try_io`](", stringify!($ty), "::try_io) clears readiness) and at")]
            /// once after `Interrupted`. Any number of tasks may wait at
            /// once.
            ///
            /// # Cancel safety
            ///
            /// Cancel-safe as long as `f` is: dropped while waiting, no
            /// call was made.
            ///
            /// # Errors
            ///
            /// What `f` returns other than `WouldBlock` and
            /// `Interrupted`.
            pub async fn async_io<R>(
                &self,
                interest: $crate::Interest,
                f: impl FnMut() -> std::io::Result<R>,
            ) -> std::io::Result<R> {
                self.io.registration().async_io_interest(interest, f).await
            }
        }
    };
}
pub(crate) use impl_custom_io;

/// The two `poll_*_ready` methods (named `$read` and `$write`) for a type
/// whose field `io` is a `PollEvented`.
macro_rules! impl_poll_ready {
    ($ty:ty, $read:ident, $write:ident) => {
        impl $ty {
            /// Polls for read readiness, storing the task's waker if not
            /// ready (one waker: of two tasks polling, the last is woken;
            /// the `async` `readable()` has room for any number).
            ///
            /// # Errors
            ///
            /// Only if the fd was deregistered.
            pub fn $read(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io
                    .poll_ready(cx, runtime_reactor::Direction::Read)
                    .map_ok(drop)
            }

            /// Polls for write readiness, storing the task's waker if not
            /// ready (one waker, as for reads).
            ///
            /// # Errors
            ///
            /// Only if the fd was deregistered.
            pub fn $write(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io
                    .poll_ready(cx, runtime_reactor::Direction::Write)
                    .map_ok(drop)
            }
        }
    };
}
pub(crate) use impl_poll_ready;
