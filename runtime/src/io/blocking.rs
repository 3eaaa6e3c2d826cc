//! [`Blocking`]: a blocking reader or writer made asynchronous by running
//! each operation on the blocking pool, as the standard streams need.
//!
//! One operation is in flight at a time. A read runs on the pool into an
//! internal buffer (at most as large as the caller's, and at most
//! [`MAX_BUF`]) and is handed out from it. A write copies the caller's
//! bytes (at most [`MAX_BUF`]) into the buffer, starts writing them on the
//! pool, and reports them written at once; an error of that write comes
//! back from the next write or flush. `poll_flush` waits for the write in
//! flight and then flushes the object, so `flush().await` is the point at
//! which everything written has reached the OS.

use std::future::Future;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::task::JoinHandle;

/// The most bytes one operation moves (tokio's limit too).
pub(crate) const MAX_BUF: usize = 2 * 1024 * 1024;

/// The bytes of the last read not yet handed out, or of a write (also
/// `fs::File`'s buffer).
#[derive(Debug, Default)]
pub(crate) struct Buf {
    data: Vec<u8>,
    pos: usize,
}

impl Buf {
    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.data.len()
    }

    pub(crate) fn clear(&mut self) {
        self.data.clear();
        self.pos = 0;
    }

    pub(crate) fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = dst.len().min(self.data.len() - self.pos);
        dst[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        if self.is_empty() {
            self.clear();
        }
        n
    }

    /// Empties the buffer of what a read put there and not handed out,
    /// returning how far the source read ahead of the bytes handed out, as
    /// a negative offset: where `SeekFrom::Current` must go to undo it.
    pub(crate) fn discard_read(&mut self) -> i64 {
        let ahead = (self.data.len() - self.pos) as i64;
        self.clear();
        -ahead
    }

    /// Replaces the contents with at most `max` bytes of `src`; returns
    /// how many.
    pub(crate) fn copy_from(&mut self, src: &[u8], max: usize) -> usize {
        self.clear();
        let n = src.len().min(max);
        self.data.extend_from_slice(&src[..n]);
        n
    }

    pub(crate) fn read_from<T: Read>(&mut self, inner: &mut T, len: usize) -> io::Result<()> {
        self.clear();
        self.data.resize(len, 0);
        let res = loop {
            match inner.read(&mut self.data) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                res => break res,
            }
        };
        self.data.truncate(*res.as_ref().unwrap_or(&0));
        res.map(drop)
    }

    pub(crate) fn write_to<T: Write>(&mut self, inner: &mut T) -> io::Result<()> {
        let res = inner.write_all(&self.data[self.pos..]);
        self.clear();
        res
    }
}

/// What the operation on the pool did.
#[derive(Debug)]
enum Op {
    Read(io::Result<()>),
    Write(io::Result<()>),
    Flush(io::Result<()>),
}

#[derive(Debug)]
enum State<T> {
    /// No operation in flight; `None` once a pool job panicked and the
    /// object was lost with it.
    Idle(Option<(T, Buf)>),
    /// An operation runs on the blocking pool.
    Busy(JoinHandle<(Op, T, Buf)>),
}

/// A blocking `T` driven on the blocking pool; see the module docs.
#[derive(Debug)]
pub(crate) struct Blocking<T> {
    state: State<T>,
    /// A write was started since the last flush.
    need_flush: bool,
}

fn lost() -> io::Error {
    io::Error::other("a blocking I/O operation panicked; the stream is gone")
}

impl<T: Send + 'static> Blocking<T> {
    pub(crate) fn new(inner: T) -> Blocking<T> {
        Blocking {
            state: State::Idle(Some((inner, Buf::default()))),
            need_flush: false,
        }
    }

    /// Takes the object for a new operation (`Idle` only).
    fn take_idle(&mut self) -> io::Result<(T, Buf)> {
        match &mut self.state {
            State::Idle(slot) => slot.take().ok_or_else(lost),
            State::Busy(_) => unreachable!("take_idle while an operation is in flight"),
        }
    }

    /// Waits for the operation in flight, if any; returns what it did.
    fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Op>>> {
        let State::Busy(handle) = &mut self.state else {
            return Poll::Ready(Ok(None));
        };
        let res = ready!(Pin::new(handle).poll(cx));
        match res {
            Ok((op, inner, buf)) => {
                self.state = State::Idle(Some((inner, buf)));
                Poll::Ready(Ok(Some(op)))
            }
            Err(_) => {
                self.state = State::Idle(None);
                Poll::Ready(Err(lost()))
            }
        }
    }

    fn idle_buf(&mut self) -> Option<&mut Buf> {
        match &mut self.state {
            State::Idle(Some((_, buf))) => Some(buf),
            _ => None,
        }
    }
}

impl<T: Read + Send + 'static> Blocking<T> {
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if dst.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            match ready!(self.poll_done(cx))? {
                Some(Op::Read(res)) => {
                    res?;
                    // A read of 0 bytes is EOF, handed on as such.
                    let buf = self.idle_buf().ok_or_else(lost)?;
                    return Poll::Ready(Ok(buf.copy_to(dst)));
                }
                Some(Op::Write(res) | Op::Flush(res)) => res?,
                None => {}
            }
            if let Some(buf) = self.idle_buf() {
                if !buf.is_empty() {
                    return Poll::Ready(Ok(buf.copy_to(dst)));
                }
            }
            let (mut inner, mut buf) = self.take_idle()?;
            let len = dst.len().min(MAX_BUF);
            self.state = State::Busy(crate::spawn_blocking(move || {
                let res = buf.read_from(&mut inner, len);
                (Op::Read(res), inner, buf)
            }));
        }
    }
}

impl<T: Write + Send + 'static> Blocking<T> {
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        match ready!(self.poll_done(cx))? {
            Some(Op::Write(res) | Op::Flush(res)) => res?,
            Some(Op::Read(_)) | None => {}
        }
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let (mut inner, mut buf) = self.take_idle()?;
        let n = buf.copy_from(src, MAX_BUF);
        self.state = State::Busy(crate::spawn_blocking(move || {
            let res = buf.write_to(&mut inner);
            (Op::Write(res), inner, buf)
        }));
        self.need_flush = true;
        Poll::Ready(Ok(n))
    }

    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match ready!(self.poll_done(cx))? {
                Some(Op::Flush(res)) => return Poll::Ready(res),
                Some(Op::Write(res)) => res?,
                Some(Op::Read(_)) | None => {}
            }
            if !self.need_flush {
                return Poll::Ready(Ok(()));
            }
            self.need_flush = false;
            let (mut inner, buf) = self.take_idle()?;
            self.state = State::Busy(crate::spawn_blocking(move || {
                let res = inner.flush();
                (Op::Flush(res), inner, buf)
            }));
        }
    }
}
