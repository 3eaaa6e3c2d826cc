//! Pipes and FIFOs: creating a pipe, `read`/`write` (and their vectored
//! forms) on its ends, and the checks `unix::pipe` makes on an fd handed
//! to it (is it a FIFO, which access mode, non-blocking or not).

use std::io;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use super::io::IOV_MAX;
use super::syscall;

/// A non-blocking, close-on-exec pipe: `(read end, write end)`.
#[cfg(not(any(target_os = "macos", target_os = "ios")))]
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    syscall!(pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC))?;
    // SAFETY: `pipe2` returned two fresh fds that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A non-blocking, close-on-exec pipe: `(read end, write end)`. macOS has
/// no `pipe2`: the flags are set after, and a fork in between may inherit
/// the fds (as with every `pipe(2)` there).
#[cfg(any(target_os = "macos", target_os = "ios"))]
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    syscall!(pipe(fds.as_mut_ptr()))?;
    // SAFETY: `pipe` returned two fresh fds that nothing else owns; the
    // `OwnedFd`s close them if a flag below cannot be set.
    let ends = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    for fd in fds {
        syscall!(fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC))?;
        set_nonblocking(fd, true)?;
    }
    Ok(ends)
}

/// `read(2)` into `buf`.
pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    let n = syscall!(read(fd, buf.as_mut_ptr().cast(), buf.len()))?;
    Ok(n as usize)
}

/// `read(2)` into `buf`, which need not be initialised: on `Ok(n)` the
/// kernel has written `buf[..n]`, and nothing else. Safe because `read(2)`
/// only writes through the pointer, at most `buf.len()` bytes, and writing
/// a `MaybeUninit<u8>` is always allowed.
#[cfg(any(feature = "tokio-io", feature = "bytes"))]
pub(crate) fn read_uninit(fd: RawFd, buf: &mut [std::mem::MaybeUninit<u8>]) -> io::Result<usize> {
    let ptr: *mut u8 = buf.as_mut_ptr().cast();
    let n = syscall!(read(fd, ptr.cast(), buf.len()))?;
    Ok(n as usize)
}

/// `readv(2)` into the first [`IOV_MAX`] buffers.
pub(crate) fn readv(fd: RawFd, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    let len = bufs.len().min(IOV_MAX) as libc::c_int;
    // `IoSliceMut` is guaranteed ABI-compatible with `iovec` on Unix, and
    // `readv` writes at most each buffer's length into it.
    let n = syscall!(readv(fd, bufs.as_mut_ptr().cast(), len))?;
    Ok(n as usize)
}

/// `write(2)` of `buf`.
pub(crate) fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    let n = syscall!(write(fd, buf.as_ptr().cast(), buf.len()))?;
    Ok(n as usize)
}

/// `writev(2)` of the first [`IOV_MAX`] buffers (a write may be short).
pub(crate) fn writev(fd: RawFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let len = bufs.len().min(IOV_MAX) as libc::c_int;
    // `IoSlice` is guaranteed ABI-compatible with `iovec` on Unix; `writev`
    // only reads through the pointers.
    let n = syscall!(writev(fd, bufs.as_ptr().cast(), len))?;
    Ok(n as usize)
}

/// Whether `fd` is a pipe or a FIFO.
pub(crate) fn is_fifo(fd: RawFd) -> io::Result<bool> {
    // SAFETY: all-zero is a valid `stat` (plain integers), and `fstat`
    // overwrites it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a live, writable `stat`; a bad fd is an error return.
    syscall!(fstat(fd, &mut st))?;
    Ok(st.st_mode & libc::S_IFMT == libc::S_IFIFO)
}

/// The fd's status flags (`F_GETFL`): the access mode and `O_NONBLOCK`.
pub(crate) fn status_flags(fd: RawFd) -> io::Result<libc::c_int> {
    syscall!(fcntl(fd, libc::F_GETFL))
}

/// Whether `flags` (from [`status_flags`]) allow reading.
pub(crate) fn can_read(flags: libc::c_int) -> bool {
    matches!(flags & libc::O_ACCMODE, libc::O_RDONLY | libc::O_RDWR)
}

/// Whether `flags` (from [`status_flags`]) allow writing.
pub(crate) fn can_write(flags: libc::c_int) -> bool {
    matches!(flags & libc::O_ACCMODE, libc::O_WRONLY | libc::O_RDWR)
}

/// Sets or clears `O_NONBLOCK` (no call if it is already as asked).
pub(crate) fn set_nonblocking(fd: RawFd, on: bool) -> io::Result<()> {
    let flags = status_flags(fd)?;
    let wanted = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if wanted != flags {
        syscall!(fcntl(fd, libc::F_SETFL, wanted))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_new_pipe_is_non_blocking_close_on_exec_and_a_fifo() {
        let (r, w) = pipe().unwrap();
        for fd in [r.as_raw_fd(), w.as_raw_fd()] {
            assert!(is_fifo(fd).unwrap());
            assert_ne!(status_flags(fd).unwrap() & libc::O_NONBLOCK, 0);
            let fd_flags = syscall!(fcntl(fd, libc::F_GETFD)).unwrap();
            assert_ne!(fd_flags & libc::FD_CLOEXEC, 0);
        }
        assert!(can_read(status_flags(r.as_raw_fd()).unwrap()));
        assert!(!can_write(status_flags(r.as_raw_fd()).unwrap()));
        assert!(can_write(status_flags(w.as_raw_fd()).unwrap()));
        assert!(!can_read(status_flags(w.as_raw_fd()).unwrap()));
        let err = read(r.as_raw_fd(), &mut [0; 4]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(write(w.as_raw_fd(), b"abc").unwrap(), 3);
        let mut x = [0u8; 1];
        let mut y = [0u8; 8];
        let n = readv(
            r.as_raw_fd(),
            &mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)],
        )
        .unwrap();
        assert_eq!((n, &x, &y[..2]), (3, b"a", &b"bc"[..]));
        set_nonblocking(r.as_raw_fd(), false).unwrap();
        assert_eq!(status_flags(r.as_raw_fd()).unwrap() & libc::O_NONBLOCK, 0);
    }

    #[test]
    fn a_socket_is_not_a_fifo() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert!(!is_fifo(a.as_raw_fd()).unwrap());
        assert!(is_fifo(-1).is_err());
    }
}
