//! [`read_dir`]: a directory's entries, fetched in batches on the blocking
//! pool.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::future::{poll_fn, Future};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::asyncify;
use crate::task::JoinHandle;

/// Entries fetched per job on the pool.
const BATCH: usize = 32;

/// The entries of the directory at `path` ([`std::fs::read_dir`]), read
/// with [`ReadDir::next_entry`].
///
/// # Errors
///
/// Those of [`std::fs::read_dir`] (`NotFound`, `NotADirectory`, …).
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let std = asyncify(move || std::fs::read_dir(path)).await?;
    Ok(ReadDir(State::Idle(Some(Batch {
        entries: VecDeque::new(),
        std,
        done: false,
    }))))
}

/// A directory's entries, from [`read_dir`]: `.` and `..` are left out,
/// and the order is the file system's.
pub struct ReadDir(State);

struct Batch {
    /// Fetched and not handed out yet.
    entries: VecDeque<io::Result<std::fs::DirEntry>>,
    std: std::fs::ReadDir,
    /// `std` has no more entries.
    done: bool,
}

enum State {
    /// `None` once a job panicked.
    Idle(Option<Batch>),
    Pending(JoinHandle<Batch>),
}

impl ReadDir {
    /// The next entry, `None` when there are no more. Cancel-safe: an
    /// entry fetched by a dropped call waits for the next one.
    ///
    /// # Errors
    ///
    /// An error reading the directory; later calls go on with the entries
    /// after it, as [`std::fs::ReadDir`] does.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry: [`next_entry`](ReadDir::next_entry) as a
    /// poll function.
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.0 {
                State::Idle(slot) => {
                    let Some(batch) = slot.as_mut() else {
                        return Poll::Ready(Err(io::Error::other(
                            "a blocking directory read panicked",
                        )));
                    };
                    if let Some(entry) = batch.entries.pop_front() {
                        return Poll::Ready(entry.map(|std| Some(DirEntry(Arc::new(std)))));
                    }
                    if batch.done {
                        return Poll::Ready(Ok(None));
                    }
                    let mut batch = slot.take().expect("checked above");
                    self.0 = State::Pending(crate::spawn_blocking(move || {
                        for _ in 0..BATCH {
                            match batch.std.next() {
                                Some(entry) => batch.entries.push_back(entry),
                                None => {
                                    batch.done = true;
                                    break;
                                }
                            }
                        }
                        batch
                    }));
                }
                State::Pending(handle) => {
                    self.0 = State::Idle(ready!(Pin::new(handle).poll(cx)).ok());
                }
            }
        }
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").finish_non_exhaustive()
    }
}

/// An entry of a directory, from [`ReadDir::next_entry`].
#[derive(Clone)]
pub struct DirEntry(Arc<std::fs::DirEntry>);

impl DirEntry {
    /// The entry's full path: the directory given to [`read_dir`] joined
    /// with [`file_name`](DirEntry::file_name).
    pub fn path(&self) -> PathBuf {
        self.0.path()
    }

    /// The entry's name, without the directory.
    pub fn file_name(&self) -> OsString {
        self.0.file_name()
    }

    /// The entry's inode number (from the directory listing, no system
    /// call).
    pub fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&*self.0)
    }

    /// The entry's metadata, not following a symbolic link
    /// ([`std::fs::DirEntry::metadata`]).
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::DirEntry::metadata`] (`NotFound` if the entry
    /// was removed since).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.0.clone();
        asyncify(move || std.metadata()).await
    }

    /// The entry's type, not following a symbolic link
    /// ([`std::fs::DirEntry::file_type`]: often from the listing itself,
    /// otherwise an `lstat` on the pool).
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::DirEntry::file_type`].
    pub async fn file_type(&self) -> io::Result<FileType> {
        let std = self.0.clone();
        asyncify(move || std.file_type()).await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path()).finish()
    }
}
