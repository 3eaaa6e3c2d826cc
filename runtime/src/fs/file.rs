//! [`File`]: an open file whose reads, writes and seeks run on the
//! blocking pool, one at a time.

use std::fmt;
use std::fs::{Metadata, Permissions};
use std::future::{poll_fn, Future};
use std::io::{self, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::{asyncify, OpenOptions};
use crate::io::blocking::{Buf, MAX_BUF};
use crate::io::{AsyncRead, AsyncSeek, AsyncWrite};
use crate::sync::Mutex;
use crate::task::JoinHandle;

/// An open file, read and written through [`AsyncRead`], [`AsyncWrite`]
/// and [`AsyncSeek`] (so `read`, `write_all`, `seek` of
/// [`runtime::io`](crate::io)'s extension traits), as tokio's `File`.
///
/// One operation is in flight at a time, on the blocking pool, with a
/// buffer of at most [`set_max_buf_size`](File::set_max_buf_size) bytes
/// (2 MiB by default):
///
/// - **A read** fills the buffer with one `read(2)` of up to the caller's
///   length and hands the bytes out from it; a later write or seek first
///   moves the file position back over what was read ahead.
/// - **A write** copies the caller's bytes into the buffer, starts writing
///   them, and reports them written at once. Its error, if any, comes back
///   from the next write, [`flush`](crate::io::AsyncWriteExt::flush) or
///   [`sync_all`](File::sync_all). So **call `flush().await` before
///   dropping a `File` you wrote**: a write still in flight then finishes
///   in the background, and its error is lost.
/// - `flush` waits for the write in flight; it does not ask the disk to
///   persist anything ([`sync_all`](File::sync_all) and
///   [`sync_data`](File::sync_data) do).
///
/// For a whole file, [`fs::read`](super::read) and
/// [`fs::write`](super::write) are one job each and cheaper.
///
/// A `seek` (futures-io's `poll_seek`) whose future is dropped before it
/// completes still moves the position, since a job on the pool cannot be
/// called back.
///
/// # Examples
///
/// ```
/// use runtime::fs::File;
/// use runtime::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// use std::io::SeekFrom;
///
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let path = std::env::temp_dir().join(format!("runtime-file-doc-{}", std::process::id()));
/// let mut file = File::options().read(true).write(true).create(true).truncate(true).open(&path).await?;
/// file.write_all(b"hello, world").await?;
/// file.seek(SeekFrom::Start(7)).await?;
/// let mut word = String::new();
/// file.read_to_string(&mut word).await?;
/// assert_eq!(word, "world");
/// file.sync_all().await?;
/// # runtime::fs::remove_file(&path).await?;
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub struct File {
    std: Arc<std::fs::File>,
    inner: Mutex<Inner>,
    max_buf_size: usize,
}

struct Inner {
    state: State,
    /// A write that failed in the background, for the next write, flush
    /// or sync to report.
    last_write_err: Option<io::Error>,
    /// The target of the seek in flight, when `poll_seek` started it (its
    /// next poll takes the result).
    seek_target: Option<SeekFrom>,
    /// tokio's `start_seek` target, for its `poll_complete` (feature
    /// `tokio-io`).
    #[cfg(feature = "tokio-io")]
    tokio_seek: Option<SeekFrom>,
}

enum State {
    /// No job in flight; `None` once a job panicked (the buffer was lost
    /// with it, and with it what the file position means).
    Idle(Option<Buf>),
    /// A job runs on the blocking pool.
    Busy(JoinHandle<(Operation, Buf)>),
}

/// What the job on the pool did.
enum Operation {
    Read(io::Result<()>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
}

fn lost() -> io::Error {
    io::Error::other("a blocking file operation panicked; the file's position is unknown")
}

impl File {
    /// Opens a file for reading ([`std::fs::File::open`]).
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::File::open`] (`NotFound`, `PermissionDenied`, …).
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Creates a file for writing, truncating one that exists
    /// ([`std::fs::File::create`]).
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::File::create`].
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates a new file for reading and writing, failing with
    /// `AlreadyExists` if one is there ([`std::fs::File::create_new`]).
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::File::create_new`].
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// Options to open a file with ([`OpenOptions::new`]).
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open `std` file (at its current position).
    pub fn from_std(std: std::fs::File) -> File {
        File {
            std: Arc::new(std),
            inner: Mutex::new(Inner {
                state: State::Idle(Some(Buf::default())),
                last_write_err: None,
                seek_target: None,
                #[cfg(feature = "tokio-io")]
                tokio_seek: None,
            }),
            max_buf_size: MAX_BUF,
        }
    }

    /// The most bytes one read or write job moves (2 MiB by default).
    pub fn set_max_buf_size(&mut self, max_buf_size: usize) {
        self.max_buf_size = max_buf_size.max(1);
    }

    /// The file's metadata ([`std::fs::File::metadata`]).
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::File::metadata`].
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// Waits for the job in flight, then asks the OS to persist the file's
    /// data and metadata ([`std::fs::File::sync_all`]).
    ///
    /// # Errors
    ///
    /// The error of a background write not reported yet, or those of
    /// [`std::fs::File::sync_all`].
    pub async fn sync_all(&self) -> io::Result<()> {
        self.flushed().await?;
        let std = self.std.clone();
        asyncify(move || std.sync_all()).await
    }

    /// As [`sync_all`](File::sync_all), persisting the data and only the
    /// metadata needed to read it back ([`std::fs::File::sync_data`]).
    ///
    /// # Errors
    ///
    /// As [`sync_all`](File::sync_all).
    pub async fn sync_data(&self) -> io::Result<()> {
        self.flushed().await?;
        let std = self.std.clone();
        asyncify(move || std.sync_data()).await
    }

    /// Truncates or extends the file to `size` bytes, after the job in
    /// flight ([`std::fs::File::set_len`]); the position does not move
    /// (it may lie past the end afterwards).
    ///
    /// # Errors
    ///
    /// The error of a background write not reported yet, or those of
    /// [`std::fs::File::set_len`].
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        let mut inner = self.inner.lock().await;
        poll_fn(|cx| inner.poll_flush(cx)).await?;
        let State::Idle(slot) = &mut inner.state else {
            unreachable!("no job is in flight after a flush");
        };
        let mut buf = slot.take().ok_or_else(lost)?;
        let back = if buf.is_empty() {
            0
        } else {
            buf.discard_read()
        };
        let std = self.std.clone();
        // In the state, so that a dropped `set_len` still holds off the
        // next operation until the job is done.
        inner.state = State::Busy(crate::spawn_blocking(move || {
            let res = (|| {
                if back != 0 {
                    (&*std).seek(SeekFrom::Current(back))?;
                }
                std.set_len(size)?;
                Ok(0)
            })();
            (Operation::Seek(res), buf)
        }));
        match poll_fn(|cx| inner.poll_job(cx)).await? {
            Operation::Seek(res) => res.map(drop),
            Operation::Read(_) | Operation::Write(_) => unreachable!("set_len's job seeks"),
        }
    }

    /// Sets the file's permissions ([`std::fs::File::set_permissions`]).
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::File::set_permissions`].
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        let std = self.std.clone();
        asyncify(move || std.set_permissions(perm)).await
    }

    /// A second `File` on the same open file (`dup(2)`: one position,
    /// shared), with its own buffer.
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::File::try_clone`] (`EMFILE`, …).
    pub async fn try_clone(&self) -> io::Result<File> {
        let std = self.std.clone();
        let clone = asyncify(move || std.try_clone()).await?;
        Ok(File::from_std(clone))
    }

    /// The `std` file, after the job in flight (a background write's
    /// error is dropped: [`flush`](crate::io::AsyncWriteExt::flush) first to
    /// see it). Bytes read ahead are given back by moving the position
    /// back over them.
    ///
    /// If a job of a dropped `metadata`, `sync_all`, … future still holds
    /// the file, the `std` file returned is a duplicate of its descriptor
    /// (the same open file and position); should even `dup` fail, this
    /// waits for that job to let go.
    pub async fn into_std(mut self) -> std::fs::File {
        let inner = self.inner.get_mut();
        let _ = poll_fn(|cx| inner.poll_flush(cx)).await;
        if let State::Idle(Some(buf)) = &mut inner.state {
            if !buf.is_empty() {
                let back = buf.discard_read();
                let _ = (&*self.std).seek(SeekFrom::Current(back));
            }
        }
        let mut std = self.std;
        loop {
            match Arc::try_unwrap(std) {
                Ok(std) => return std,
                Err(shared) => match shared.try_clone() {
                    Ok(dup) => return dup,
                    Err(_) => {
                        std = shared;
                        crate::time::sleep(std::time::Duration::from_millis(1)).await;
                    }
                },
            }
        }
    }

    /// The `std` file if no job is in flight and nothing was read ahead;
    /// otherwise `self` back.
    pub fn try_into_std(mut self) -> Result<std::fs::File, File> {
        let idle = matches!(&self.inner.get_mut().state, State::Idle(Some(buf)) if buf.is_empty());
        if !idle {
            return Err(self);
        }
        match Arc::try_unwrap(self.std) {
            Ok(std) => Ok(std),
            Err(std) => {
                self.std = std;
                Err(self)
            }
        }
    }

    /// Waits for the job in flight and reports a background write's error.
    async fn flushed(&self) -> io::Result<()> {
        let mut inner = self.inner.lock().await;
        poll_fn(|cx| inner.poll_flush(cx)).await
    }
}

impl Inner {
    /// Waits for the job in flight (`Idle` afterwards, also on error).
    fn poll_job(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Operation>> {
        let State::Busy(handle) = &mut self.state else {
            unreachable!("poll_job with no job in flight");
        };
        match ready!(Pin::new(handle).poll(cx)) {
            Ok((op, buf)) => {
                self.state = State::Idle(Some(buf));
                Poll::Ready(Ok(op))
            }
            Err(_) => {
                self.state = State::Idle(None);
                Poll::Ready(Err(lost()))
            }
        }
    }

    /// Keeps the first background write error for the next write or flush.
    fn write_failed(&mut self, e: io::Error) {
        self.last_write_err.get_or_insert(e);
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let State::Busy(_) = self.state {
            self.seek_target = None;
            match ready!(self.poll_job(cx))? {
                Operation::Write(Err(e)) => self.write_failed(e),
                Operation::Write(Ok(())) | Operation::Read(_) | Operation::Seek(_) => {}
            }
        }
        match self.last_write_err.take() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let inner = me.inner.get_mut();
        if dst.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            match &mut inner.state {
                State::Idle(slot) => {
                    let buf = slot.as_mut().ok_or_else(lost)?;
                    if !buf.is_empty() {
                        return Poll::Ready(Ok(buf.copy_to(dst)));
                    }
                    let mut buf = slot.take().ok_or_else(lost)?;
                    let len = dst.len().min(me.max_buf_size);
                    let std = me.std.clone();
                    inner.state = State::Busy(crate::spawn_blocking(move || {
                        let res = buf.read_from(&mut &*std, len);
                        (Operation::Read(res), buf)
                    }));
                }
                State::Busy(_) => {
                    inner.seek_target = None;
                    match ready!(inner.poll_job(cx))? {
                        Operation::Read(res) => {
                            res?;
                            // Empty after a read: end of file, handed on.
                            let State::Idle(Some(buf)) = &mut inner.state else {
                                unreachable!("poll_job leaves the buffer idle");
                            };
                            return Poll::Ready(Ok(buf.copy_to(dst)));
                        }
                        Operation::Write(Err(e)) => inner.write_failed(e),
                        Operation::Write(Ok(())) | Operation::Seek(_) => {}
                    }
                }
            }
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let inner = me.inner.get_mut();
        if let Some(e) = inner.last_write_err.take() {
            return Poll::Ready(Err(e));
        }
        loop {
            match &mut inner.state {
                State::Idle(slot) => {
                    if src.is_empty() {
                        return Poll::Ready(Ok(0));
                    }
                    let mut buf = slot.take().ok_or_else(lost)?;
                    // Bytes read ahead: the write goes where the reader is.
                    let back = if buf.is_empty() {
                        0
                    } else {
                        buf.discard_read()
                    };
                    let n = buf.copy_from(src, me.max_buf_size);
                    let std = me.std.clone();
                    inner.state = State::Busy(crate::spawn_blocking(move || {
                        let res = if back != 0 {
                            (&*std)
                                .seek(SeekFrom::Current(back))
                                .and_then(|_| buf.write_to(&mut &*std))
                        } else {
                            buf.write_to(&mut &*std)
                        };
                        (Operation::Write(res), buf)
                    }));
                    return Poll::Ready(Ok(n));
                }
                State::Busy(_) => {
                    inner.seek_target = None;
                    match ready!(inner.poll_job(cx))? {
                        Operation::Write(res) => res?,
                        Operation::Read(_) | Operation::Seek(_) => {}
                    }
                }
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner.get_mut().poll_flush(cx)
    }

    /// The same as `poll_flush`: a file has no write direction to shut.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let me = self.get_mut();
        let inner = me.inner.get_mut();
        loop {
            match &mut inner.state {
                State::Idle(slot) => {
                    let mut buf = slot.take().ok_or_else(lost)?;
                    let mut target = pos;
                    if !buf.is_empty() {
                        let back = buf.discard_read();
                        if let SeekFrom::Current(offset) = &mut target {
                            // `Current` counts from the bytes handed out,
                            // not from where the read-ahead left the file.
                            match offset.checked_add(back) {
                                Some(o) => *offset = o,
                                None => {
                                    *slot = Some(buf);
                                    return Poll::Ready(Err(io::Error::new(
                                        io::ErrorKind::InvalidInput,
                                        "seek offset overflows",
                                    )));
                                }
                            }
                        }
                    }
                    let std = me.std.clone();
                    inner.state = State::Busy(crate::spawn_blocking(move || {
                        let res = (&*std).seek(target);
                        (Operation::Seek(res), buf)
                    }));
                    inner.seek_target = Some(pos);
                }
                State::Busy(_) => {
                    // Taken only once the job is done: a pending poll of
                    // this seek must find it ours again next time.
                    let ours = inner.seek_target == Some(pos);
                    let op = ready!(inner.poll_job(cx))?;
                    inner.seek_target = None;
                    match op {
                        Operation::Seek(res) if ours => return Poll::Ready(res),
                        Operation::Write(Err(e)) => inner.write_failed(e),
                        Operation::Seek(_) | Operation::Read(_) | Operation::Write(Ok(())) => {}
                    }
                }
            }
        }
    }
}

crate::io::tokio_traits::tokio_read!(File);
crate::io::tokio_traits::tokio_write!(File);

/// tokio's two-step seek over `poll_seek`: `start_seek` records the
/// target, `poll_complete` runs it (or, with none recorded, waits for the
/// job in flight and reports the position).
#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncSeek for File {
    fn start_seek(self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        let inner = self.get_mut().inner.get_mut();
        if let State::Busy(_) = inner.state {
            return Err(io::Error::other(
                "another file operation is in flight: call poll_complete before start_seek",
            ));
        }
        inner.tokio_seek = Some(pos);
        Ok(())
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let pos = self
            .inner
            .get_mut()
            .tokio_seek
            .unwrap_or(SeekFrom::Current(0));
        let res = ready!(AsyncSeek::poll_seek(self.as_mut(), cx, pos));
        self.inner.get_mut().tokio_seek = None;
        Poll::Ready(res)
    }
}

impl From<std::fs::File> for File {
    fn from(std: std::fs::File) -> File {
        File::from_std(std)
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.std.as_raw_fd()
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.std.as_fd()
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("std", &self.std)
            .finish_non_exhaustive()
    }
}
