//! [`copy_bidirectional`]: two-way copying between two streams, through a
//! user-space buffer in general and with `splice(2)` on Linux when both
//! streams are this crate's stream sockets.
//!
//! # Which path a call takes
//!
//! The functions are generic over any `futures-io` stream, as tokio's are
//! over its traits, with no `'static` bound. To find out whether `A` (or
//! `B`) is [`TcpStream`] or [`UnixStream`] without specialization, they
//! compare the type's identity with its lifetimes erased
//! ([`erased_type_id`]); neither type has a lifetime parameter, so equal
//! identities mean the very same type. A reference to a socket
//! (`&TcpStream`), a half, or a wrapper is another type and takes the
//! buffered path.
//!
//! On Linux, when both sides are such sockets and the process ignores
//! `SIGPIPE` (Rust programs do from `main`), each direction moves its bytes
//! socket → pipe → socket with `splice(2)`, never through user space; see
//! the `splice` module. Everywhere else, and for a direction whose splice
//! the kernel refuses, the bytes go through a buffer of the requested size.

use std::any::TypeId;
use std::future::poll_fn;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use runtime_reactor::coop;

#[cfg(any(target_os = "linux", target_os = "android"))]
use crate::{TcpStream, UnixStream};

/// The buffer size of [`copy_bidirectional`], each way (tokio's too).
const DEFAULT_BUF_SIZE: usize = 8 * 1024;

/// Copies data both ways between `a` and `b` until both directions have
/// reached EOF, and returns how many bytes went each way:
/// `(a to b, b to a)`.
///
/// Each direction reads from one stream and writes what it read to the
/// other. When a read returns EOF, everything read so far is written, the
/// writer is flushed and then closed
/// ([`poll_close`](futures_io::AsyncWrite::poll_close), for sockets a
/// `shutdown(Write)`, so the peer reads EOF), and that direction is done;
/// the other direction carries on until its own EOF. This is a full-duplex
/// proxy with half-close passed through.
///
/// When both `a` and `b` are [`TcpStream`](crate::TcpStream)s or
/// [`UnixStream`](crate::UnixStream)s (in any mix) on Linux, the bytes move
/// with `splice(2)` through a pipe per direction and never enter user
/// space; other types (including references, halves and wrappers) are
/// copied through an 8 KiB buffer each way. The results are the same byte
/// for byte. A splice into a socket cannot suppress `SIGPIPE`, so the
/// splice path is taken only while the process ignores `SIGPIPE` (as every
/// Rust program does from `main` unless it changed that); otherwise the
/// buffered path, whose writes never raise it, is used.
///
/// # Errors
///
/// The first error of either direction ends the copy and is returned;
/// bytes already read and not yet written are lost. A write that accepts
/// zero bytes is a `WriteZero` error.
///
/// # Cancel safety
///
/// Not cancel-safe: dropping the future loses the bytes it had read and
/// not yet written (in its buffer or its pipe), and it does not report how
/// many bytes were copied.
///
/// # Examples
///
/// A proxy that forwards each accepted connection to `upstream`:
///
/// ```no_run
/// use runtime::net::{TcpListener, TcpStream};
///
/// # async fn proxy(upstream: std::net::SocketAddr) -> std::io::Result<()> {
/// let listener = TcpListener::bind("127.0.0.1:8080").await?;
/// loop {
///     let (mut inbound, _) = listener.accept().await?;
///     runtime::spawn(async move {
///         let mut outbound = TcpStream::connect(upstream).await?;
///         let (up, down) = runtime::io::copy_bidirectional(&mut inbound, &mut outbound).await?;
///         println!("{up} bytes up, {down} bytes down");
///         Ok::<_, std::io::Error>(())
///     });
/// }
/// # }
/// ```
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    copy_bidirectional_with_sizes(a, b, DEFAULT_BUF_SIZE, DEFAULT_BUF_SIZE).await
}

/// [`copy_bidirectional`] with the buffer size of each direction:
/// `a_to_b_buf_size` for the bytes from `a` to `b`, `b_to_a_buf_size` for
/// the others.
///
/// On the splice path a size is the least capacity asked of the
/// direction's pipe (which holds 64 KiB by default; a larger request is
/// granted up to `/proc/sys/fs/pipe-max-size`, 1 MiB unless raised, and a
/// refused one keeps the default). The pipe's pages are the kernel's, so a
/// larger size costs no user memory.
///
/// # Panics
///
/// If a buffer size is zero (a zero-sized buffer could never move a byte).
///
/// # Errors
///
/// As [`copy_bidirectional`].
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let (mut a, mut a_peer) = runtime::io::duplex(1024);
/// let (mut b, mut b_peer) = runtime::io::duplex(1024);
/// let proxy = runtime::spawn(async move {
///     runtime::io::copy_bidirectional_with_sizes(&mut a, &mut b, 64 * 1024, 4096).await
/// });
/// a_peer.write_all(b"ping").await?;
/// a_peer.close().await?; // EOF from a's side, passed on to b_peer
/// let mut got = Vec::new();
/// b_peer.read_to_end(&mut got).await?;
/// assert_eq!(got, b"ping");
/// b_peer.close().await?;
/// assert_eq!(proxy.await.unwrap()?, (4, 0));
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub async fn copy_bidirectional_with_sizes<A, B>(
    a: &mut A,
    b: &mut B,
    a_to_b_buf_size: usize,
    b_to_a_buf_size: usize,
) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    assert!(
        a_to_b_buf_size > 0 && b_to_a_buf_size > 0,
        "copy_bidirectional_with_sizes: buffer sizes must be non-zero"
    );
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let (Some(sa), Some(sb)) = (SocketRef::of(&*a), SocketRef::of(&*b)) {
        if crate::sys::splice::sigpipe_ignored() {
            return crate::splice::copy_bidirectional(sa, sb, a_to_b_buf_size, b_to_a_buf_size)
                .await;
        }
    }
    let mut a_to_b = Transfer::Running(CopyBuffer::new(a_to_b_buf_size));
    let mut b_to_a = Transfer::Running(CopyBuffer::new(b_to_a_buf_size));
    poll_fn(|cx| {
        let ab = poll_transfer(cx, &mut a_to_b, &mut *a, &mut *b)?;
        let ba = poll_transfer(cx, &mut b_to_a, &mut *b, &mut *a)?;
        Poll::Ready(Ok((ready!(ab), ready!(ba))))
    })
    .await
}

/// One direction of a buffered copy.
enum Transfer {
    /// Copying; EOF not reached yet (or not all written).
    Running(CopyBuffer),
    /// All copied and flushed; closing the writer. Holds the count.
    Closing(u64),
    /// Finished with this many bytes.
    Done(u64),
}

fn poll_transfer<R, W>(
    cx: &mut Context<'_>,
    state: &mut Transfer,
    reader: &mut R,
    writer: &mut W,
) -> Poll<io::Result<u64>>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    loop {
        match state {
            Transfer::Running(buf) => {
                let n = ready!(buf.poll_copy(cx, Pin::new(&mut *reader), Pin::new(&mut *writer)))?;
                *state = Transfer::Closing(n);
            }
            Transfer::Closing(n) => {
                let n = *n;
                ready!(Pin::new(&mut *writer).poll_close(cx))?;
                *state = Transfer::Done(n);
            }
            Transfer::Done(n) => return Poll::Ready(Ok(*n)),
        }
    }
}

/// A copy from a reader to a writer through one buffer, resumable across
/// polls.
///
/// Invariant: `pos <= cap <= buf.len()`; `buf[pos..cap]` is read and not
/// yet written.
pub(crate) struct CopyBuffer {
    /// The bytes in flight.
    buf: Box<[u8]>,
    /// Start of the unwritten bytes.
    pos: usize,
    /// End of the unwritten bytes.
    cap: usize,
    /// Bytes written so far.
    amt: u64,
    /// The reader returned EOF.
    read_done: bool,
    /// Something was written since the last flush.
    need_flush: bool,
}

impl CopyBuffer {
    pub(crate) fn new(size: usize) -> CopyBuffer {
        CopyBuffer::with_data(vec![0; size].into_boxed_slice(), 0, 0)
    }

    /// A buffer that already holds `buf[..cap]`, to be written first, with
    /// `amt` bytes counted as copied before it (a spliced direction that
    /// continues buffered).
    pub(crate) fn with_data(buf: Box<[u8]>, cap: usize, amt: u64) -> CopyBuffer {
        debug_assert!(cap <= buf.len());
        CopyBuffer {
            buf,
            pos: 0,
            cap,
            amt,
            read_done: false,
            need_flush: false,
        }
    }

    /// Marks the reader as having reached EOF: only the held bytes remain.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn set_read_done(&mut self) {
        self.read_done = true;
    }

    /// Reads into the free tail of the buffer.
    fn poll_fill<R: AsyncRead + ?Sized>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
    ) -> Poll<io::Result<()>> {
        let n = ready!(reader.poll_read(cx, &mut self.buf[self.cap..]))?;
        if n == 0 {
            self.read_done = true;
        } else {
            self.cap += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Copies until the reader's EOF and a final flush; returns the count.
    pub(crate) fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            // Each round spends a unit of the task's budget, so a copy
            // between two streams that are always ready still yields.
            let coop = ready!(coop::poll_proceed(cx));
            // Room in the buffer: read more first, for larger writes.
            if self.cap < self.buf.len() && !self.read_done {
                match self.poll_fill(cx, reader.as_mut()) {
                    Poll::Ready(res) => res?,
                    // Nothing to read. With nothing to write either, flush
                    // what was written (the writer may be buffering what
                    // the reader's peer waits for), then wait.
                    Poll::Pending if self.pos == self.cap => {
                        if self.need_flush {
                            ready!(writer.as_mut().poll_flush(cx))?;
                            self.need_flush = false;
                        }
                        return Poll::Pending;
                    }
                    Poll::Pending => {}
                }
            }
            while self.pos < self.cap {
                let n = ready!(writer
                    .as_mut()
                    .poll_write(cx, &self.buf[self.pos..self.cap]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the writer accepted zero bytes",
                    )));
                }
                self.pos += n;
                self.amt += n as u64;
                self.need_flush = true;
                coop.made_progress();
            }
            self.pos = 0;
            self.cap = 0;
            if self.read_done {
                ready!(writer.as_mut().poll_flush(cx))?;
                self.need_flush = false;
                return Poll::Ready(Ok(self.amt));
            }
        }
    }
}

/// The identity of `T` with its lifetimes erased: for a type without
/// lifetime parameters, the same as `TypeId::of::<T>()`, but callable for
/// any `T`, `'static` or not.
///
/// `TypeId::of` asks for `T: 'static` only because two types that differ in
/// nothing but lifetimes share one identity. The identity is computed here
/// through a method of a trait object whose lifetime bound is widened to
/// `'static`, which changes nothing at run time (lifetimes are gone by
/// then): the vtable entry is the one of `PhantomData<T>`, monomorphized
/// for `T`. Only the splice dispatch (Linux) uses it outside its test.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
pub(crate) fn erased_type_id<T: ?Sized>() -> TypeId {
    trait Identity {
        fn id(&self) -> TypeId
        where
            Self: 'static;
    }
    impl<T: ?Sized> Identity for PhantomData<T> {
        fn id(&self) -> TypeId
        where
            Self: 'static,
        {
            TypeId::of::<T>()
        }
    }
    let marker = PhantomData::<T>;
    let object: &dyn Identity = &marker;
    // SAFETY: the two trait object types differ only in their lifetime
    // bound, which has no run-time representation; the object is used for
    // this one call, while `marker` is alive, and `id` reads nothing from
    // it (it returns a constant of its monomorphized `T`).
    let object: &(dyn Identity + 'static) =
        unsafe { std::mem::transmute::<&dyn Identity, &(dyn Identity + 'static)>(object) };
    object.id()
}

/// A stream socket of this crate that a splice can read from and write to.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[derive(Clone, Copy, Debug)]
pub(crate) enum SocketRef<'a> {
    Tcp(&'a TcpStream),
    Unix(&'a UnixStream),
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl<'a> SocketRef<'a> {
    /// `io` as a socket of this crate, if its type is [`TcpStream`] or
    /// [`UnixStream`].
    pub(crate) fn of<T: ?Sized>(io: &'a T) -> Option<SocketRef<'a>> {
        let id = erased_type_id::<T>();
        let ptr = (io as *const T).cast::<()>();
        if id == TypeId::of::<TcpStream>() {
            // SAFETY: `T` is `TcpStream` (its identity, and `TcpStream` has
            // no lifetimes to erase), so the pointer (a thin one: `T` is
            // sized) points to a live `TcpStream` borrowed for `'a`.
            Some(SocketRef::Tcp(unsafe { &*ptr.cast::<TcpStream>() }))
        } else if id == TypeId::of::<UnixStream>() {
            // SAFETY: as above, for `UnixStream`.
            Some(SocketRef::Unix(unsafe { &*ptr.cast::<UnixStream>() }))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erased_type_id_tells_types_apart_and_ignores_lifetimes() {
        fn id_of_ref<'a>(_: &'a str) -> TypeId {
            erased_type_id::<&'a str>()
        }
        let owned = String::from("x");
        assert_eq!(id_of_ref(&owned), TypeId::of::<&'static str>());
        assert_eq!(erased_type_id::<u32>(), TypeId::of::<u32>());
        assert_ne!(erased_type_id::<u32>(), TypeId::of::<i32>());
        assert_ne!(erased_type_id::<[u8]>(), TypeId::of::<u8>());
    }
}
