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
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::task::ready;

    use super::*;
    use crate::sys;
    use runtime_reactor::Direction;

    /// Never filled a buffer yet; `TCP_INQ` not set.
    const OFF: u64 = 0;
    /// `TCP_INQ` set; the last read was short: read with `recv`.
    const SHORT: u64 = 1;
    /// `TCP_INQ` set; the last read filled its buffer: read with the hint,
    /// unless more than the buffer is known to be queued.
    const FULL: u64 = 2;
    /// The kernel refused `TCP_INQ`.
    const REFUSED: u64 = 3;

    /// Per stream: which read to make next, as `known << 8 | mode`, where
    /// `known` is how many bytes the last hinted read left queued, less
    /// what plain reads took since (a lower bound: more may have come). A
    /// bulk reader whose queue holds many buffers' worth reads them with
    /// `recv` (each is full and leaves more: the hint would say nothing)
    /// and asks again only for the read that may drain the queue.
    /// Relaxed: it only picks the system call (both are correct); halves
    /// reading at once may race on it harmlessly.
    #[derive(Debug)]
    pub(crate) struct InqReads(AtomicU64);

    impl InqReads {
        pub(crate) const fn new() -> InqReads {
            InqReads(AtomicU64::new(OFF))
        }

        fn set(&self, mode: u64, known: u64) {
            self.0.store(
                known.min(u64::from(u32::MAX)) << 8 | mode,
                Ordering::Relaxed,
            );
        }

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
            let (mode, known) = (state & 0xff, state >> 8);
            if mode == FULL && known <= len as u64 {
                // No hint (it cannot be, with the option set): 0, ask
                // again next time.
                let mut left = 0;
                let (n, _) = ready!(io.registration().poll_stream_io_hinted(
                    cx,
                    Direction::Read,
                    len,
                    || {
                        let (n, inq) = sys::io::recv_inq(fd, buf)?;
                        left = inq.map_or(0, u64::from);
                        Ok((n, inq == Some(0)))
                    },
                ))?;
                self.set(if n < len { SHORT } else { FULL }, left);
                return Poll::Ready(Ok(n));
            }
            let n = ready!(io.poll_read_uninit(cx, buf))?;
            match mode {
                FULL if n < len => self.set(SHORT, 0),
                _ if n < len => {}
                OFF => {
                    let next = if sys::io::enable_inq(fd) {
                        FULL
                    } else {
                        REFUSED
                    };
                    self.set(next, 0);
                }
                SHORT => self.set(FULL, 0),
                FULL => self.set(FULL, known.saturating_sub(n as u64)),
                _ => {}
            }
            Poll::Ready(Ok(n))
        }

        /// Clears `TCP_INQ` on `fd` if these reads set it (the socket
        /// leaves this stream).
        pub(crate) fn release(&self, fd: std::os::fd::RawFd) {
            if matches!(self.0.swap(OFF, Ordering::Relaxed) & 0xff, SHORT | FULL) {
                sys::io::disable_inq(fd);
            }
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod imp {
    use super::*;

    /// No `TCP_INQ` here: every read is a plain `recv`.
    #[derive(Debug)]
    pub(crate) struct InqReads;

    impl InqReads {
        pub(crate) const fn new() -> InqReads {
            InqReads
        }

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
