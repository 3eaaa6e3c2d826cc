//! Full reads that need no `EAGAIN` to prove the socket drained.
//!
//! A stream read that returns fewer bytes than asked clears readiness (the
//! receive queue ran dry). One that fills the buffer proves nothing: the
//! next read may find more, or fail with `EAGAIN`, a system call spent
//! only to learn that nothing was left. On Linux, a TCP socket with
//! `TCP_INQ` set tells each `recvmsg` how many bytes stayed queued, so a
//! full read that leaves nothing clears readiness as a short one does.
//!
//! `recvmsg` with a control buffer costs a little more than `recv`, and
//! most reads are short, so a stream starts on plain `recv` and turns to
//! the hinted read only once a read has filled its buffer (setting the
//! option then, once per stream), and back to `recv` after a short read.
//! A service whose messages fill its buffer (an echo of 4 KiB messages
//! through a 4 KiB buffer) makes one `recv` per message instead of two.

use std::io;
use std::mem::MaybeUninit;
use std::task::{Context, Poll};

use crate::poll_evented::PollEvented;

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::task::ready;

    use super::*;
    use crate::sys;
    use runtime_reactor::Direction;

    /// Never filled a buffer yet; `TCP_INQ` not set.
    const OFF: u8 = 0;
    /// `TCP_INQ` set; the last read was short: read with `recv`.
    const SHORT: u8 = 1;
    /// `TCP_INQ` set; the last read filled its buffer: read with the hint.
    const FULL: u8 = 2;
    /// The kernel refused `TCP_INQ`.
    const REFUSED: u8 = 3;

    /// Per stream: which read to make next. Relaxed: it only picks the
    /// system call (both are correct); halves reading at once may race on
    /// it harmlessly.
    #[derive(Debug, Default)]
    pub(crate) struct InqReads(AtomicU8);

    impl InqReads {
        pub(crate) fn poll_read(
            &self,
            io: &PollEvented<std::net::TcpStream>,
            cx: &mut Context<'_>,
            buf: &mut [MaybeUninit<u8>],
        ) -> Poll<io::Result<usize>> {
            if buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let fd = io.get_ref().as_raw_fd();
            let len = buf.len();
            let state = self.0.load(Ordering::Relaxed);
            if state == FULL {
                let (n, _) = ready!(io.registration().poll_stream_io_hinted(
                    cx,
                    Direction::Read,
                    len,
                    || sys::io::recv_inq(fd, buf).map(|(n, inq)| (n, inq == Some(0))),
                ))?;
                if n < len {
                    self.0.store(SHORT, Ordering::Relaxed);
                }
                return Poll::Ready(Ok(n));
            }
            let n = ready!(io.poll_read_uninit(cx, buf))?;
            if n == len {
                match state {
                    OFF => {
                        let next = if sys::io::enable_inq(fd) {
                            FULL
                        } else {
                            REFUSED
                        };
                        self.0.store(next, Ordering::Relaxed);
                    }
                    SHORT => self.0.store(FULL, Ordering::Relaxed),
                    _ => {}
                }
            }
            Poll::Ready(Ok(n))
        }

        /// Clears `TCP_INQ` on `fd` if these reads set it (the socket
        /// leaves this stream).
        pub(crate) fn release(&self, fd: std::os::fd::RawFd) {
            if matches!(self.0.swap(OFF, Ordering::Relaxed), SHORT | FULL) {
                sys::io::disable_inq(fd);
            }
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod imp {
    use super::*;

    /// No `TCP_INQ` here: every read is a plain `recv`.
    #[derive(Debug, Default)]
    pub(crate) struct InqReads;

    impl InqReads {
        pub(crate) fn poll_read(
            &self,
            io: &PollEvented<std::net::TcpStream>,
            cx: &mut Context<'_>,
            buf: &mut [MaybeUninit<u8>],
        ) -> Poll<io::Result<usize>> {
            io.poll_read_uninit(cx, buf)
        }

        /// Nothing to undo here.
        pub(crate) fn release(&self, _fd: std::os::fd::RawFd) {}
    }
}

pub(crate) use imp::InqReads;

/// `buf` as possibly uninitialised bytes, for a read into it.
pub(crate) fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`; the reads this is
    // passed to only ever store initialised bytes (the kernel's), so `buf`
    // stays initialised.
    unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) }
}
