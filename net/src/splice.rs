//! The splice path of [`copy_bidirectional`](crate::copy::copy_bidirectional)
//! (Linux): each direction moves its bytes socket → pipe → socket with
//! `splice(2)`, so they never enter user space.
//!
//! # Protocol
//!
//! A direction owns a non-blocking pipe and counts the bytes in it. It
//! splices from the source socket into the pipe only when the pipe is
//! empty, and from the pipe into the destination socket only while it holds
//! bytes. Both calls pass `SPLICE_F_NONBLOCK` (the sockets are non-blocking
//! anyway), and both run under the sockets' reactor registrations
//! (`Registration::poll_io`), so:
//!
//! - `EAGAIN` from the source splice can only mean that the socket has no
//!   data (an empty pipe always has room), and it clears the source's
//!   readable bit; the task waits for the next edge. A short splice proves
//!   nothing (the pipe may have run out of slots, each holding at most a
//!   page of one packet), so it clears nothing: unlike `recv`, this is not
//!   [`poll_stream_io`](runtime_reactor::Registration::poll_stream_io).
//! - `EAGAIN` from the destination splice, with bytes in the pipe, can only
//!   mean that the socket's send buffer is full, and it clears the
//!   destination's writable bit.
//! - A source splice of 0 bytes is EOF: once the pipe is empty the direction
//!   shuts down the destination's write side and is done.
//!
//! Each completed splice spends a unit of the task's cooperative budget, as
//! any socket operation does. The kernel refusing a splice (`EINVAL`,
//! `ENOSYS`, `EOPNOTSUPP`) turns the direction into a buffered copy, after
//! reading back whatever the pipe held, so the result is the same byte for
//! byte. Other errors end the copy.

use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use runtime_reactor::{Direction, Registration};

use crate::copy::{CopyBuffer, SocketRef};
use crate::sys::splice as sys;

/// Bytes moved by splices into destination sockets, process-wide (a probe
/// for tests: it shows that the splice path ran).
static SPLICED: AtomicU64 = AtomicU64::new(0);

/// How many bytes [`copy_bidirectional`](crate::copy::copy_bidirectional)
/// has moved with `splice(2)` in this process so far. Not part of the API.
#[doc(hidden)]
pub fn spliced_bytes() -> u64 {
    SPLICED.load(Ordering::Relaxed)
}

impl SocketRef<'_> {
    fn registration(&self) -> &Registration {
        match self {
            SocketRef::Tcp(s) => s.registration(),
            SocketRef::Unix(s) => s.registration(),
        }
    }

    fn fd(&self) -> RawFd {
        match self {
            SocketRef::Tcp(s) => s.as_raw_fd(),
            SocketRef::Unix(s) => s.as_raw_fd(),
        }
    }

    fn close_write(&self) -> io::Result<()> {
        match self {
            SocketRef::Tcp(s) => s.close_write(),
            SocketRef::Unix(s) => s.close_write(),
        }
    }
}

// The buffered fallback reads and writes the sockets through their
// `&TcpStream` / `&UnixStream` impls.
impl AsyncRead for SocketRef<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match &mut *self {
            SocketRef::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            SocketRef::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for SocketRef<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut *self {
            SocketRef::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            SocketRef::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.close_write())
    }
}

/// A direction's pipe.
struct Pipe {
    /// Read end: spliced into the destination socket.
    read: OwnedFd,
    /// Write end: the source socket is spliced into it.
    write: OwnedFd,
    /// The pipe's capacity, asked for in each source splice.
    capacity: usize,
    /// Bytes in the pipe now.
    held: usize,
}

impl Pipe {
    /// A pipe of at least `size` bytes where the kernel allows (at least
    /// its default, 64 KiB).
    fn new(size: usize) -> io::Result<Pipe> {
        let (read, write) = sys::pipe()?;
        let capacity = sys::set_pipe_size(&write, size)?;
        Ok(Pipe {
            read,
            write,
            capacity,
            held: 0,
        })
    }

    /// Reads everything the pipe holds into a buffer of at least `size`
    /// bytes, for a direction that goes on buffered.
    fn drain(&mut self, size: usize) -> io::Result<(Box<[u8]>, usize)> {
        let mut buf = vec![0u8; size.max(self.held)].into_boxed_slice();
        let mut got = 0;
        while got < self.held {
            match sys::read(self.read.as_raw_fd(), &mut buf[got..self.held]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if got != self.held {
            return Err(io::Error::other("the splice pipe lost bytes"));
        }
        self.held = 0;
        Ok((buf, got))
    }
}

/// How a direction moves bytes.
enum Mode {
    /// Through its pipe.
    Splice(Pipe),
    /// Through a buffer (the kernel refused to splice, or no pipe could be
    /// made).
    Buffered(CopyBuffer),
}

/// One direction of the copy.
struct Transfer {
    mode: Mode,
    /// Buffer size for a fallback to [`Mode::Buffered`].
    size: usize,
    /// Bytes written to the destination so far (splice mode).
    amt: u64,
    /// The source reached EOF (splice mode).
    read_done: bool,
    /// Shutting down the destination's write side, or done.
    state: State,
}

#[derive(Clone, Copy)]
enum State {
    Copying,
    Closing(u64),
    Done(u64),
}

impl Transfer {
    fn new(size: usize) -> Transfer {
        let mode = match Pipe::new(size) {
            Ok(pipe) => Mode::Splice(pipe),
            // Out of fds, say: the copy still works, through a buffer.
            Err(_) => Mode::Buffered(CopyBuffer::new(size)),
        };
        Transfer {
            mode,
            size,
            amt: 0,
            read_done: false,
            state: State::Copying,
        }
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        src: SocketRef<'_>,
        dst: SocketRef<'_>,
    ) -> Poll<io::Result<u64>> {
        loop {
            match self.state {
                State::Copying => {
                    let n = ready!(self.poll_copy(cx, src, dst))?;
                    self.state = State::Closing(n);
                }
                State::Closing(n) => {
                    dst.close_write()?;
                    self.state = State::Done(n);
                }
                State::Done(n) => return Poll::Ready(Ok(n)),
            }
        }
    }

    /// Copies until the source's EOF, with everything written.
    fn poll_copy(
        &mut self,
        cx: &mut Context<'_>,
        mut src: SocketRef<'_>,
        mut dst: SocketRef<'_>,
    ) -> Poll<io::Result<u64>> {
        loop {
            let pipe = match &mut self.mode {
                Mode::Buffered(buf) => {
                    return buf.poll_copy(cx, Pin::new(&mut src), Pin::new(&mut dst));
                }
                Mode::Splice(pipe) => pipe,
            };
            if pipe.held == 0 {
                if self.read_done {
                    return Poll::Ready(Ok(self.amt));
                }
                let (from, to, len) = (src.fd(), pipe.write.as_raw_fd(), pipe.capacity);
                match ready!(src
                    .registration()
                    .poll_io(cx, Direction::Read, || sys::splice(from, to, len)))
                {
                    Ok(0) => self.read_done = true,
                    Ok(n) => pipe.held = n,
                    Err(e) if sys::is_refusal(&e) => {
                        self.fall_back()?;
                        continue;
                    }
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            while pipe.held > 0 {
                let (from, to, len) = (pipe.read.as_raw_fd(), dst.fd(), pipe.held);
                match ready!(dst
                    .registration()
                    .poll_io(cx, Direction::Write, || sys::splice(from, to, len)))
                {
                    Ok(0) => {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::WriteZero,
                            "the writer accepted zero bytes",
                        )))
                    }
                    Ok(n) => {
                        pipe.held -= n;
                        self.amt += n as u64;
                        SPLICED.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    Err(e) if sys::is_refusal(&e) => break,
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            if pipe.held > 0 {
                // The destination refused the splice: go on buffered,
                // starting with the bytes the pipe holds.
                self.fall_back()?;
            }
        }
    }

    /// Switches to [`Mode::Buffered`], moving the pipe's bytes into the
    /// buffer (to be written first).
    fn fall_back(&mut self) -> io::Result<()> {
        if let Mode::Splice(pipe) = &mut self.mode {
            let (buf, held) = pipe.drain(self.size)?;
            let mut copy = CopyBuffer::with_data(buf, held, self.amt);
            if self.read_done {
                copy.set_read_done();
            }
            self.mode = Mode::Buffered(copy);
        }
        Ok(())
    }
}

/// Copies both ways between two sockets of this crate with `splice(2)`;
/// see the module docs.
pub(crate) async fn copy_bidirectional(
    a: SocketRef<'_>,
    b: SocketRef<'_>,
    a_to_b_size: usize,
    b_to_a_size: usize,
) -> io::Result<(u64, u64)> {
    let mut a_to_b = Transfer::new(a_to_b_size);
    let mut b_to_a = Transfer::new(b_to_a_size);
    poll_fn(|cx| {
        let ab = a_to_b.poll(cx, a, b)?;
        let ba = b_to_a.poll(cx, b, a)?;
        Poll::Ready(Ok((ready!(ab), ready!(ba))))
    })
    .await
}
