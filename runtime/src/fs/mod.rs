//! Files and directories, as tokio's `fs`: each operation runs `std::fs`
//! on the blocking pool, so a slow disk never holds a worker.
//!
//! Operating systems offer no readiness for regular files (epoll refuses
//! them, kqueue reports them always readable), so the reactor has nothing
//! to wait on: like tokio, this module hands each call to
//! [`spawn_blocking`](crate::spawn_blocking) and awaits it. The free
//! functions ([`read()`], [`write()`], [`metadata`], …) are one pool job each;
//! [`File`] keeps one job in flight at a time and buffers in between (see
//! its docs); [`read_dir`] fetches entries in batches.
//!
//! Whole-file helpers are the cheapest way to the disk: [`read()`] and
//! [`write()`] are one job however large the file, where a [`File`] moves at
//! most [`File::set_max_buf_size`] bytes (2 MiB by default) per job.
//!
//! # Panics
//!
//! Every function panics when called outside a runtime (there is no
//! blocking pool to run it), as tokio's do.
//!
//! # Examples
//!
//! ```
//! use runtime::fs;
//!
//! # runtime::Runtime::new().unwrap().block_on(async {
//! let dir = std::env::temp_dir().join(format!("runtime-fs-doc-{}", std::process::id()));
//! fs::create_dir_all(&dir).await?;
//! fs::write(dir.join("hello.txt"), b"hello").await?;
//! assert_eq!(fs::read_to_string(dir.join("hello.txt")).await?, "hello");
//! let mut entries = fs::read_dir(&dir).await?;
//! while let Some(entry) = entries.next_entry().await? {
//!     assert_eq!(entry.file_name(), "hello.txt");
//! }
//! fs::remove_dir_all(&dir).await?;
//! # Ok::<_, std::io::Error>(()) }).unwrap();
//! ```

mod file;
mod open_options;
mod read_dir;

use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir};

/// Runs `f` on the blocking pool and returns its result; a job that
/// panicked is an error, not a panic of the caller.
pub(crate) async fn asyncify<F, T>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match crate::spawn_blocking(f).await {
        Ok(res) => res,
        Err(e) => Err(io::Error::other(format!(
            "a blocking file-system job failed: {e}"
        ))),
    }
}

/// The whole contents of a file ([`std::fs::read`]).
///
/// # Errors
///
/// Those of [`std::fs::read`] (`NotFound`, `PermissionDenied`, …).
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read(path)).await
}

/// The whole contents of a file as text ([`std::fs::read_to_string`]).
///
/// # Errors
///
/// Those of [`std::fs::read_to_string`]; text that is not UTF-8 is
/// `InvalidData`.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_to_string(path)).await
}

/// Creates or truncates a file and writes `contents` to it
/// ([`std::fs::write`]).
///
/// # Errors
///
/// Those of [`std::fs::write`].
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    asyncify(move || std::fs::write(path, contents)).await
}

/// Creates a directory ([`std::fs::create_dir`]).
///
/// # Errors
///
/// Those of [`std::fs::create_dir`] (`AlreadyExists`, a missing parent, …).
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir(path)).await
}

/// Creates a directory and its missing parents
/// ([`std::fs::create_dir_all`]).
///
/// # Errors
///
/// Those of [`std::fs::create_dir_all`].
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir_all(path)).await
}

/// Removes a file ([`std::fs::remove_file`]).
///
/// # Errors
///
/// Those of [`std::fs::remove_file`].
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_file(path)).await
}

/// Removes an empty directory ([`std::fs::remove_dir`]).
///
/// # Errors
///
/// Those of [`std::fs::remove_dir`].
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir(path)).await
}

/// Removes a directory and everything in it ([`std::fs::remove_dir_all`]).
///
/// # Errors
///
/// Those of [`std::fs::remove_dir_all`].
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir_all(path)).await
}

/// Renames a file or directory, replacing `to` if it is a file
/// ([`std::fs::rename`]).
///
/// # Errors
///
/// Those of [`std::fs::rename`].
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::rename(from, to)).await
}

/// Copies a file's contents and permissions; returns the bytes copied
/// ([`std::fs::copy`]).
///
/// # Errors
///
/// Those of [`std::fs::copy`].
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::copy(from, to)).await
}

/// Makes `link` a hard link to `original` ([`std::fs::hard_link`]).
///
/// # Errors
///
/// Those of [`std::fs::hard_link`].
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify(move || std::fs::hard_link(original, link)).await
}

/// Makes `link` a symbolic link to `original`
/// ([`std::os::unix::fs::symlink`]).
///
/// # Errors
///
/// Those of [`std::os::unix::fs::symlink`].
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify(move || std::os::unix::fs::symlink(original, link)).await
}

/// What a symbolic link points to ([`std::fs::read_link`]).
///
/// # Errors
///
/// Those of [`std::fs::read_link`] (`InvalidInput` for a path that is not
/// a link).
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_link(path)).await
}

/// The absolute path with every link resolved ([`std::fs::canonicalize`]).
///
/// # Errors
///
/// Those of [`std::fs::canonicalize`].
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::canonicalize(path)).await
}

/// A path's metadata, following links ([`std::fs::metadata`]).
///
/// # Errors
///
/// Those of [`std::fs::metadata`].
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::metadata(path)).await
}

/// A path's metadata, not following a link
/// ([`std::fs::symlink_metadata`]).
///
/// # Errors
///
/// Those of [`std::fs::symlink_metadata`].
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::symlink_metadata(path)).await
}

/// Sets a path's permissions ([`std::fs::set_permissions`]).
///
/// # Errors
///
/// Those of [`std::fs::set_permissions`].
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::set_permissions(path, perm)).await
}

/// Whether the path exists: `Ok(false)` when it does not, an error when
/// that cannot be told (a permission problem on the way)
/// ([`std::fs::exists`]).
///
/// # Errors
///
/// Those of [`std::fs::exists`].
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::exists(path)).await
}
